"""The onnxruntime engine: the exported graphs of :mod:`depthstyle.export.onnx_export`.

:class:`OnnxEngine` implements the :class:`~depthstyle.engines.base.Engine` protocol with the
style-statistics, stylize and reconstruct graphs; inputs, depth maps, strength, colour
preservation and style interpolation are the pipeline's own code, shared with the PyTorch
engine. The photo comes back as in PyTorch: :func:`~depthstyle.ops.photo_blend` by default,
:func:`~depthstyle.ops.detail_residual` (with the reconstruct graph) for ``detail="residual"``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from depthstyle.engines.base import RenderJob, Stats, border_pads, level_style_stats, pad_border
from depthstyle.errors import DepthStyleError, SettingsError, WeightsError
from depthstyle.ops import detail_residual, photo_blend

__all__ = ["OnnxEngine", "load_manifest", "pack_stats", "unpack_stats"]


def pack_stats(stats: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """[(mean (1, C, 1, 1), std), ...] -> (1, 2 * sum(C)) as ``[mean_1, std_1, mean_2, ...]``."""
    return torch.cat([t.flatten(1) for pair in stats for t in pair], dim=1)


def unpack_stats(flat: torch.Tensor, channels: list[int]
                 ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Inverse of :func:`pack_stats`."""
    out, i = [], 0
    for c in channels:
        out.append((flat[:, i: i + c, None, None], flat[:, i + c: i + 2 * c, None, None]))
        i += 2 * c
    return out


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
    if int(manifest.get("version", 1)) < 2 or "reconstruct" not in manifest.get("files", {}):
        raise WeightsError(f"{path}: an export from an older depthstyle (no reconstruct graph); "
                           f"export again with `depthstyle export --format onnx -o {folder} "
                           "--overwrite`")
    for key, entry in manifest["files"].items():
        f = folder / entry["name"]
        if not f.is_file():
            raise WeightsError(f"{f}: missing ({key} graph)")
        if verify and sha256_of(f) != entry["sha256"]:
            raise WeightsError(f"{f}: sha256 does not match the manifest (corrupt or modified); "
                               "export again")
    return manifest


class OnnxEngine:
    """Runs the exported ONNX graphs with onnxruntime (CPU by default).

    The same :class:`~depthstyle.pipeline.Stylizer` drives it as the PyTorch engine; pass it as
    ``Stylizer(engine=OnnxEngine(folder))`` or use :func:`depthstyle.pipeline.Stylizer.from_onnx`.
    Spatial style masks, tiling and learned strength are PyTorch-only (flags below).

    Args:
        folder: an export folder (``depthstyle export --format onnx``).
        threads: onnxruntime intra-op threads (``None`` = its default, all cores).
        providers: onnxruntime execution providers (default: CPU).
        border: reflect-padded border around the picture, as in
            :class:`~depthstyle.engines.TorchEngine`.

    Raises:
        DepthStyleError: onnxruntime is not installed.
        WeightsError: the export is missing, modified, or cannot be loaded.
    """

    supports_masks = False
    has_learned_strength = False

    def __init__(self, folder: str | os.PathLike, *, threads: int | None = None,
                 providers: list[str] | None = None, border: int = 16) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise DepthStyleError("the onnxruntime backend needs 'onnxruntime': "
                                  "pip install 'depthstyle[onnx]'") from None
        if border < 0:  # as the PyTorch engine: refused, not clamped
            raise SettingsError(f"border must be >= 0 pixels, got {border}")
        self.folder = Path(folder)
        self.manifest = load_manifest(self.folder)
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        opts.log_severity_level = 3
        # idle onnxruntime threads otherwise spin for a while and slow down PyTorch work
        # (depth model, colour transfer) that runs between two onnxruntime calls
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = providers or ["CPUExecutionProvider"]
        try:
            self.sessions = {k: ort.InferenceSession(str(self.folder / e["name"]), opts,
                                                     providers=providers)
                             for k, e in self.manifest["files"].items()}
        except Exception as exc:  # onnxruntime raises its own exception types
            raise WeightsError(f"{self.folder}: onnxruntime cannot load the export ({exc})") \
                from None
        m = self.downsampling
        self.border = -(-int(border) // m) * m
        self.device = torch.device("cpu")

    @property
    def name(self) -> str:
        """The exported model's name and the backend."""
        return f"{self.manifest['model']} (onnxruntime)"

    @property
    def encoder_name(self) -> str:  # noqa: D102
        return str(self.manifest.get("encoder", ""))

    @property
    def level_names(self) -> tuple[str, ...]:  # noqa: D102
        return tuple(self.manifest["level_names"])

    @property
    def decode_level(self) -> int:  # noqa: D102
        return int(self.manifest["decode_level"])

    @property
    def downsampling(self) -> int:  # noqa: D102
        return int(self.manifest["downsampling"])

    @property
    def default_levels(self) -> tuple[int, ...]:  # noqa: D102
        return tuple(self.manifest.get("default_levels", [self.decode_level]))

    def style_stats(self, image: torch.Tensor) -> Stats:
        """Channel mean/std at every level up to the decoded one (the style_stats graph)."""
        x = image.float().cpu().numpy()
        m = self.downsampling
        h, w = x.shape[-2:]
        if h < m or w < m:
            raise SettingsError(f"style image {w}x{h} is smaller than {m}x{m} pixels")
        flat = self.sessions["style_stats"].run(None, {"style": x})[0]
        return unpack_stats(torch.from_numpy(flat), self.manifest["channels"])

    def learned_strength(self, *args, **kwargs) -> list[torch.Tensor]:  # noqa: D102
        raise SettingsError("learned strength runs only with the PyTorch backend "
                            "(--backend torch)")

    def render(self, job: RenderJob) -> torch.Tensor:
        """Pad, run the stylize graph (and the reconstruct graph for the detail residual)."""
        if job.masks is not None:
            raise SettingsError("spatial style masks are not supported by the onnxruntime "
                                "backend; use --backend torch")
        if isinstance(job.strength, list):
            raise SettingsError("per-level strength maps need the PyTorch backend")
        h, w = job.content.shape[-2:]
        b = self.border
        pads = border_pads(h, w, b, self.downsampling)
        x = pad_border(job.content.float(), pads, image=True)
        s = pad_border(job.strength.float(), pads, image=False)
        level_weights = np.zeros(self.decode_level + 1, dtype=np.float32)
        level_weights[list(job.levels)] = 1.0
        stats = [level_style_stats(job.styles, job.weights, None, i)
                 for i in range(self.decode_level + 1)]
        feeds = {"content": x.numpy(), "strength": s.numpy(), "level_weights": level_weights,
                 "style_stats": pack_stats(stats).float().cpu().numpy()}
        out = torch.from_numpy(self.sessions["stylize"].run(None, feeds)[0])
        if job.detail == "residual" and bool((s < 1).any()):
            plain = torch.from_numpy(self.sessions["reconstruct"].run(None,
                                                                      {"content": x.numpy()})[0])
            out = detail_residual(out, x, plain, s)
        elif job.detail == "blend":
            out = photo_blend(out, x, s)
        return out.clamp(0, 1)[..., b: b + h, b: b + w]
