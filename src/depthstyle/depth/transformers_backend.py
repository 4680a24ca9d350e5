"""Monocular depth models through Hugging Face ``transformers`` (optional dependency).

Any checkpoint loadable with ``AutoModelForDepthEstimation`` works: Depth Anything V2 Small
(default), DPT / MiDaS-style models (``Intel/dpt-hybrid-midas``, ``Intel/dpt-large``) and others.
This module loads models from a local folder or the Hugging Face cache only; the download on
first use is :mod:`depthstyle.depth.download`'s (``depthstyle weights download
depth-anything-v2-small``).

Pre-processing is done here with differentiable torch ops (resize, ImageNet-style normalisation)
from the checkpoint's ``preprocessor_config.json``, so the same backend also serves the
depth-preservation loss in training.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from depthstyle.depth.catalog import DEFAULT_DEPTH_MODEL, DEPTH_MODELS, describe_missing
from depthstyle.depth.maps import normalize_proximity
from depthstyle.errors import DepthStyleError

__all__ = ["TransformersDepth", "load_transformers_depth", "differentiable_depth_model"]

log = logging.getLogger(__name__)

def _read_preprocessor(source: str) -> dict:
    path = Path(source)
    if path.is_dir():
        f = path / "preprocessor_config.json"
        return json.loads(f.read_text()) if f.is_file() else {}
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(source, "preprocessor_config.json")
    except Exception:  # noqa: BLE001 - any hub-cache problem means "not cached"
        cached = None
    return json.loads(Path(cached).read_text()) if isinstance(cached, str) else {}


class TransformersDepth(nn.Module):
    """A depth-estimation model with its pre-processing, returning proximity.

    Args:
        model: a ``transformers`` depth-estimation model (``outputs.predicted_depth``).
        mean, std: input normalisation.
        size: (height, width) the model expects; with ``keep_aspect`` the short side is scaled
            to cover it.
        multiple: both input sides are rounded to a multiple of this (14 for ViT/14 backbones).
        keep_aspect: keep the image's aspect ratio when resizing.
        metric: the model outputs metric depth (larger = farther) rather than inverse depth.
    """

    def __init__(self, model: nn.Module, *, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
                 size=(518, 518), multiple: int = 14, keep_aspect: bool = True,
                 metric: bool = False, name: str = "transformers") -> None:
        super().__init__()
        self.model = model.eval()
        self.model.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self.size = (int(size[0]), int(size[1]))
        self.multiple = max(1, int(multiple))
        self.keep_aspect = keep_aspect
        self.metric = metric
        self.name = name

    def input_size(self, h: int, w: int) -> tuple[int, int]:
        """The (height, width) an (h, w) image is resized to before the model."""
        th, tw = self.size
        if self.keep_aspect:
            s = max(th / h, tw / w)
            th, tw = h * s, w * s
        m = self.multiple
        return max(m, math.ceil(th / m - 1e-6) * m), max(m, math.ceil(tw / m - 1e-6) * m)

    def predict(self, image: torch.Tensor) -> torch.Tensor:
        """Raw model output, (B, 1, h, w); differentiable w.r.t. ``image`` (RGB in [0, 1])."""
        if image.ndim != 4 or image.shape[1] != 3:
            raise ValueError(f"image must be (B, 3, H, W), got {tuple(image.shape)}")
        dev = self.mean.device
        x = image.to(dev, torch.float32)
        x = F.interpolate(x, size=self.input_size(*x.shape[-2:]), mode="bicubic",
                          align_corners=False, antialias=True)
        x = (x - self.mean) / self.std
        dtype = next(self.model.parameters()).dtype
        out = self.model(pixel_values=x.to(dtype)).predicted_depth
        return out.float().unsqueeze(1) if out.ndim == 3 else out.float()

    def relative_proximity(self, image: torch.Tensor) -> torch.Tensor:
        """Differentiable, unnormalised proximity at the image's size: larger = nearer.

        The model's raw output, negated for metric-depth checkpoints (inverse-depth models
        already grow towards the camera). :meth:`forward` normalises it to [0, 1]; training
        uses it directly (depth loss, learned-strength proximity), so every path agrees on
        which way is near.
        """
        raw = self.predict(image)
        if self.metric:
            raw = -raw
        return F.interpolate(raw, size=image.shape[-2:], mode="bilinear", align_corners=False)

    @torch.inference_mode()
    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Proximity (B, 1, H, W) in [0, 1] at the image's size, 1 = nearest."""
        return normalize_proximity(self.relative_proximity(image)).to(image.device)


def transformers_ok() -> None:
    """Raise a clear :class:`DepthStyleError` if ``transformers`` is not installed."""
    try:
        import transformers  # noqa: F401
    except ImportError:
        raise DepthStyleError("depth estimation needs the 'transformers' package: "
                              "pip install 'depthstyle[depth]'") from None


def load_transformers_depth(name_or_path: str = DEFAULT_DEPTH_MODEL, *,
                            device: str | torch.device = "cpu",
                            resolution: int | None = None,
                            dtype: torch.dtype = torch.float32) -> TransformersDepth:
    """Load a depth model from a local folder or the Hugging Face cache (never the network).

    Args:
        name_or_path: a folder, a hub id, or a short name from :data:`DEPTH_MODELS`.
        device: where to put the model.
        resolution: override the model's input size (short side); smaller is faster.
        dtype: model weights dtype (e.g. ``torch.float16`` on a GPU).

    Raises:
        DepthStyleError: ``transformers`` missing, or the model is not available offline (with
            the command that fetches it).
    """
    source = DEPTH_MODELS.get(name_or_path, name_or_path)
    transformers_ok()
    from transformers import AutoConfig, AutoModelForDepthEstimation

    local = Path(source).is_dir()
    try:
        config = AutoConfig.from_pretrained(source, local_files_only=True)
        model = AutoModelForDepthEstimation.from_pretrained(source, local_files_only=True,
                                                            dtype=dtype)
    except (OSError, ValueError) as exc:
        if local:
            raise DepthStyleError(f"{source}: not a loadable depth model folder "
                                  f"({str(exc).splitlines()[0]})") from None
        raise DepthStyleError(
            f"depth model {source!r} is not on this machine (looked in the Hugging Face cache, "
            f"{os.environ.get('HF_HOME', '~/.cache/huggingface')}). To get it: "
            f"{describe_missing(str(name_or_path))}") from None
    pre = _read_preprocessor(source)
    size = pre.get("size", {"height": 518, "width": 518})
    if "shortest_edge" in size:
        size = {"height": size["shortest_edge"], "width": size["shortest_edge"]}
    hw = (int(size.get("height", 518)), int(size.get("width", 518)))
    if resolution:
        hw = (int(resolution), int(resolution))
    backend = TransformersDepth(
        model,
        mean=tuple(pre.get("image_mean", (0.485, 0.456, 0.406))),
        std=tuple(pre.get("image_std", (0.229, 0.224, 0.225))),
        size=hw,
        multiple=int(pre.get("ensure_multiple_of", getattr(config, "patch_size", 1) or 1)),
        keep_aspect=bool(pre.get("keep_aspect_ratio", True)),
        metric=getattr(config, "depth_estimation_type", "relative") == "metric",
        name=str(name_or_path),
    )
    return backend.to(device)


def differentiable_depth_model(name_or_path: str | None, *, device: str | torch.device = "cpu"
                               ):
    """A callable image -> unnormalised proximity (larger = nearer) with gradients.

    For training: the depth-preservation loss and the learned-strength proximity. Metric-depth
    checkpoints are sign-corrected here, as in :class:`TransformersDepth` itself.
    """
    backend = load_transformers_depth(name_or_path or DEFAULT_DEPTH_MODEL, device=device)
    return backend.relative_proximity
