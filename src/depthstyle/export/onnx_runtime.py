"""Stylize with onnxruntime: the exported graphs of :mod:`depthstyle.export.onnx_export`.

:class:`OnnxStylizer` is a :class:`~depthstyle.pipeline.Stylizer` whose networks (style encoder,
encoder + AdaIN + decoder, strength transform) run in onnxruntime; inputs, depth maps, colour
preservation and style interpolation are the same code as the PyTorch path. Spatial style masks
and tiling are not available here (use the PyTorch backend for them).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from depthstyle.depth import DepthSource
from depthstyle.errors import DepthStyleError, SettingsError, WeightsError
from depthstyle.export.onnx_export import pack_stats, unpack_stats
from depthstyle.io import DEFAULT_MAX_PIXELS
from depthstyle.pipeline import Stats, StrengthMaps, StyleSettings, Stylizer

__all__ = ["OnnxStylizer", "load_manifest"]


def load_manifest(folder: str | os.PathLike, *, verify: bool = True) -> dict:
    """Read ``manifest.json`` of an export and check every graph's sha256.

    Raises:
        WeightsError: missing or unreadable manifest, missing graph, or a checksum mismatch.
    """
    from depthstyle.weights import sha256_of

    folder = Path(folder)
    path = folder / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WeightsError(f"{folder}: no manifest.json; create the export with "
                           f"`depthstyle export --format onnx -o {folder}`") from None
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{path}: unreadable manifest ({exc})") from None
    if manifest.get("format") != "depthstyle-onnx":
        raise WeightsError(f"{path}: not a depthstyle ONNX export")
    for key, entry in manifest["files"].items():
        f = folder / entry["name"]
        if not f.is_file():
            raise WeightsError(f"{f}: missing ({key} graph)")
        if verify and sha256_of(f) != entry["sha256"]:
            raise WeightsError(f"{f}: sha256 does not match the manifest (corrupt or modified); "
                               "export again")
    return manifest


class OnnxStylizer(Stylizer):
    """A :class:`Stylizer` that runs the exported ONNX graphs with onnxruntime (CPU).

    Args:
        folder: an export folder (``depthstyle export --format onnx``).
        depth: default depth source, as for :class:`Stylizer`.
        max_pixels, cache_size: as for :class:`Stylizer`.
        threads: onnxruntime intra-op threads (``None`` = its default, all cores).
        providers: onnxruntime execution providers (default: CPU).
    """

    def __init__(self, folder: str | os.PathLike, *, depth: DepthSource | None = None,
                 max_pixels: int = DEFAULT_MAX_PIXELS, cache_size: int = 16,
                 threads: int | None = None, providers: list[str] | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise DepthStyleError("the onnxruntime backend needs 'onnxruntime': "
                                  "pip install 'depthstyle[onnx]'") from None
        self.folder = Path(folder)
        self.manifest = load_manifest(self.folder)
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        opts.log_severity_level = 3
        # idle onnxruntime threads otherwise spin for a while and slow down PyTorch work
        # (depth model, colour transfer) that runs between two sessions' calls
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = providers or ["CPUExecutionProvider"]
        try:
            self.sessions = {k: ort.InferenceSession(str(self.folder / e["name"]), opts,
                                                     providers=providers)
                             for k, e in self.manifest["files"].items()}
        except Exception as exc:  # onnxruntime raises its own exception types
            raise WeightsError(f"{self.folder}: onnxruntime cannot load the export ({exc})") \
                from None
        # the state Stylizer's shared code uses
        self.device, self.dtype, self.half = torch.device("cpu"), torch.float32, False
        self.memory_format = torch.contiguous_format
        self.model = None
        self._init_inputs(depth, max_pixels, cache_size)
        self.tile_size, self.tile_margin = None, 0

    @property
    def level_names(self) -> tuple[str, ...]:  # noqa: D102
        return tuple(self.manifest["level_names"])

    @property
    def model_name(self) -> str:  # noqa: D102
        return f"{self.manifest['model']} (onnxruntime)"

    @property
    def decode_level(self) -> int:  # noqa: D102
        return int(self.manifest["decode_level"])

    @property
    def downsampling(self) -> int:  # noqa: D102
        return int(self.manifest["downsampling"])

    def _encode_style(self, img: torch.Tensor) -> Stats:
        x = img.float().numpy()
        m = self.downsampling
        h, w = x.shape[-2:]
        if h < m or w < m:
            raise SettingsError(f"style image {w}x{h} is smaller than {m}x{m} pixels")
        flat = self.sessions["style_stats"].run(None, {"style": x})[0]
        return unpack_stats(torch.from_numpy(flat), self.manifest["channels"])

    def _strength(self, proximity: torch.Tensor, settings: StyleSettings) -> torch.Tensor:
        settings.validate()
        feeds = {"proximity": proximity.float().numpy(),
                 **{k: np.array([v], dtype=np.float32) for k, v in (
                     ("offset", settings.offset), ("contrast", settings.contrast),
                     ("alpha", settings.alpha), ("invert", float(settings.invert)))}}
        return torch.from_numpy(self.sessions["strength"].run(None, feeds)[0])

    def _run(self, content: torch.Tensor, stats_per_style: list[Stats], strength: StrengthMaps,
             levels: list[int], weights: tuple[float, ...] | None, masks: torch.Tensor | None
             ) -> torch.Tensor:
        if masks is not None:
            raise SettingsError("spatial style masks are not supported by the onnxruntime "
                                "backend; use --backend torch")
        h, w = content.shape[-2:]
        x, s, _ = self._pad(content, strength, None)
        level_weights = np.zeros(self.decode_level + 1, dtype=np.float32)
        level_weights[levels] = 1.0
        feeds = {"content": x.numpy(), "strength": s.numpy(), "level_weights": level_weights,
                 "style_stats": pack_stats(self._mixed_stats(stats_per_style, weights))
                 .float().numpy()}
        out = torch.from_numpy(self.sessions["stylize"].run(None, feeds)[0])
        return out[..., :h, :w]
