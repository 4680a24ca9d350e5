"""Export a :class:`~depthstyle.models.StyleModel` to ONNX (dynamic spatial size).

Four graphs, written with a ``manifest.json`` (model, levels, strides, opset, sha256 of each
file), so a runtime needs nothing but onnxruntime and the folder:

* ``style_stats.onnx``: style image (1, 3, H, W) -> ``style_stats`` (1, 2 * sum(C_i)): the
  channel means and stds at every level up to the decoded one, concatenated as
  ``[mean_1, std_1, mean_2, std_2, ...]`` (the cached part of a stylization).
* ``stylize.onnx``: content (B, 3, H, W), strength (B, 1, H, W), ``level_weights`` (L,) and
  ``style_stats`` -> image (B, 3, H, W), unclamped (the runtime adds the photo blend or the
  detail residual, then clamps to [0, 1]). H and W must be multiples of the model's
  downsampling (the runtime pads). Level ``i`` is restyled by
  :func:`~depthstyle.ops.restyle_encode` with strength ``strength * level_weights[i]``, which is
  exactly the PyTorch engine's "strength acts at the selected levels" when the weights are 0/1.
* ``reconstruct.onnx``: content -> the decoder's reconstruction of the unrestyled features
  (for :func:`~depthstyle.ops.detail_residual`, which the runtime applies).
* ``strength.onnx``: proximity (B, 1, H, W), ``offset``, ``contrast``, ``alpha``, ``invert`` (each
  of shape (1,)) -> strength (B, 1, H, W): the proximity transform of :mod:`depthstyle.strength`.

The graphs call the library's own functions (:func:`~depthstyle.ops.calc_mean_std`,
:func:`~depthstyle.ops.restyle_encode`, :func:`~depthstyle.strength.strength_core`), so the
exported step cannot drift from the PyTorch one; the parity tests hold them within 1e-4.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from depthstyle.engines.onnx_engine import pack_stats, unpack_stats
from depthstyle.errors import DepthStyleError, OutputExistsError
from depthstyle.io import atomic_output, write_text
from depthstyle.models import StyleModel, load_model
from depthstyle.ops import calc_mean_std, restyle_encode
from depthstyle.strength import strength_core

__all__ = ["export_onnx", "StyleStatsGraph", "StylizeGraph", "ReconstructGraph", "StrengthGraph",
           "GRAPH_FILES", "DEFAULT_OPSET"]

log = logging.getLogger(__name__)

GRAPH_FILES = {"style_stats": "style_stats.onnx", "stylize": "stylize.onnx",
               "reconstruct": "reconstruct.onnx", "strength": "strength.onnx"}
DEFAULT_OPSET = 18


class StyleStatsGraph(nn.Module):
    """style (1, 3, H, W) -> packed statistics (1, 2 * sum(C_i))."""

    def __init__(self, model: StyleModel) -> None:
        super().__init__()
        self.encoder, self.top = model.encoder, model.decode_level

    def forward(self, style: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return pack_stats([calc_mean_std(f) for f in self.encoder(style, upto=self.top)])


class StylizeGraph(nn.Module):
    """(content, strength, level_weights, style_stats) -> image (unclamped; clamp to [0, 1]).

    Level ``i`` is restyled with strength ``strength * level_weights[i]`` by
    :func:`~depthstyle.ops.restyle_encode`, the same step the PyTorch engine runs.
    """

    def __init__(self, model: StyleModel) -> None:
        super().__init__()
        self.model = model
        top = model.decode_level
        self.strides = list(model.encoder.strides[: top + 1])
        self.channels = list(model.encoder.channels[: top + 1])

    def forward(self, content: torch.Tensor, strength: torch.Tensor,  # noqa: D102
                level_weights: torch.Tensor, style_stats: torch.Tensor) -> torch.Tensor:
        stats = unpack_stats(style_stats, self.channels)
        maps = [strength * level_weights[i] for i in range(len(self.strides))]
        enc = self.model.encoder
        feats = restyle_encode(enc.stages[: len(self.strides)], content, self.strides, stats,
                               maps, range(len(self.strides)))
        return self.model.decode(feats, strength)  # unclamped: the runtime blends/adds the photo


class ReconstructGraph(nn.Module):
    """content -> the decoder's reconstruction of it, unclamped (for the detail residual)."""

    def __init__(self, model: StyleModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, content: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.model.decode(self.model.encoder(content, upto=self.model.decode_level), 0.0)


class StrengthGraph(nn.Module):
    """(proximity, offset, contrast, alpha, invert) -> strength."""

    def forward(self, proximity: torch.Tensor, offset: torch.Tensor,  # noqa: D102
                contrast: torch.Tensor, alpha: torch.Tensor, invert: torch.Tensor
                ) -> torch.Tensor:
        p = proximity.clamp(0.0, 1.0)
        p = invert * (1.0 - p) + (1.0 - invert) * p
        return strength_core(p, offset, contrast, alpha)


def _export(module: nn.Module, args: tuple, path: Path, input_names: list[str],
            output_names: list[str], dynamic_shapes, opset: int) -> None:
    try:
        import onnxscript  # noqa: F401  (the exporter needs it)
    except ImportError:
        raise DepthStyleError("ONNX export needs 'onnx' and 'onnxscript': "
                              "pip install 'depthstyle[onnx]'") from None
    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "torchvision is not installed" notes are irrelevant here
    try:
        with warnings.catch_warnings(), atomic_output(path, overwrite=True) as tmp:
            warnings.simplefilter("ignore")
            torch.onnx.export(module, args, str(tmp), input_names=input_names,
                              output_names=output_names, dynamic_shapes=dynamic_shapes,
                              opset_version=opset, dynamo=True, external_data=False,
                              verbose=False, optimize=True)
    finally:
        quiet.setLevel(level)


def export_onnx(model: StyleModel | str | os.PathLike, out_dir: str | os.PathLike, *,
                opset: int = DEFAULT_OPSET, overwrite: bool = False) -> dict:
    """Write the three graphs and ``manifest.json`` into ``out_dir``; return the manifest.

    Args:
        model: a loaded model or a name/path for :func:`~depthstyle.models.load_model`.
        out_dir: folder to create or fill.
        opset: ONNX opset version.
        overwrite: replace existing files.

    Raises:
        OutputExistsError: files exist and ``overwrite`` is false.
        DepthStyleError: the exporter's packages are missing.
    """
    from torch.export import Dim

    from depthstyle import __version__
    from depthstyle.weights import sha256_of

    model = model if isinstance(model, StyleModel) else load_model(model)
    model = model.float().eval().to("cpu", memory_format=torch.contiguous_format)
    out = Path(out_dir)
    targets = [out / f for f in GRAPH_FILES.values()] + [out / "manifest.json"]
    existing = [str(t) for t in targets if t.exists()]
    if existing and not overwrite:
        raise OutputExistsError(f"{existing[0]} exists; use --overwrite to replace the export")
    out.mkdir(parents=True, exist_ok=True)
    top, m = model.decode_level, model.downsampling
    chans = model.encoder.channels[: top + 1]

    with torch.no_grad():
        style = torch.rand(1, 3, 4 * m, 5 * m)
        stats = StyleStatsGraph(model)(style)
    hs, ws = Dim("style_h", min=m, max=8192), Dim("style_w", min=m, max=8192)
    log.info("exporting style_stats.onnx")
    _export(StyleStatsGraph(model), (style,), out / GRAPH_FILES["style_stats"], ["style"],
            ["style_stats"], {"style": {2: hs, 3: ws}}, opset)

    hb, wb = Dim("h_blocks", min=1, max=8192 // m), Dim("w_blocks", min=1, max=8192 // m)
    batch = Dim("batch", min=1, max=64)
    content = torch.rand(2, 3, 3 * m, 5 * m)
    strength = torch.rand(2, 1, 3 * m, 5 * m)
    weights = torch.zeros(top + 1)
    weights[top] = 1.0
    spatial = {0: batch, 2: m * hb, 3: m * wb}
    log.info("exporting stylize.onnx")
    _export(StylizeGraph(model), (content, strength, weights, stats),
            out / GRAPH_FILES["stylize"], ["content", "strength", "level_weights", "style_stats"],
            ["image"], (spatial, spatial, None, None), opset)

    log.info("exporting reconstruct.onnx")
    _export(ReconstructGraph(model), (content,), out / GRAPH_FILES["reconstruct"], ["content"],
            ["reconstruction"], ({0: batch, 2: m * hb, 3: m * wb},), opset)

    h, w, b = Dim("h", min=1, max=16384), Dim("w", min=1, max=16384), Dim("b", min=1, max=64)
    prox = torch.rand(2, 1, 7, 9)
    scalars = [torch.tensor([v]) for v in (0.2, 10.0, 1.0, 0.0)]
    log.info("exporting strength.onnx")
    _export(StrengthGraph(), (prox, *scalars), out / GRAPH_FILES["strength"],
            ["proximity", "offset", "contrast", "alpha", "invert"], ["strength"],
            ({0: b, 2: h, 3: w}, None, None, None, None), opset)

    manifest = {
        "format": "depthstyle-onnx", "version": 2, "depthstyle": __version__,
        "torch": torch.__version__, "opset": opset, "model": model.name,
        "encoder": model.encoder.name,
        "level_names": list(model.encoder.level_names[: top + 1]),
        "channels": list(chans), "strides": list(model.encoder.strides[: top + 1]),
        "decode_level": top, "downsampling": m, "default_levels": list(model.default_levels),
        "files": {k: {"name": f, "sha256": sha256_of(out / f)} for k, f in GRAPH_FILES.items()},
    }
    write_text(out / "manifest.json", json.dumps(manifest, indent=2), overwrite=True)
    return manifest
