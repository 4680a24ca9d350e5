"""What every command shares: option types, option groups, settings, the stylizer, exit codes."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from depthstyle.depth.catalog import DEFAULT_DEPTH_SIZE

__all__ = [
    "float_list", "unit_float", "nonneg_float", "positive_float", "positive_int", "levels_arg",
    "add_model_options", "add_depth_size_option", "add_backend_options", "make_stylizer",
    "stylizer_spec",
    "add_strength_options",
    "settings_from_args", "add_depth_options", "add_common", "resolve_device", "log",
    "depth_source_from_args", "check_output", "add_ray_options",
    "EXIT_OK", "EXIT_ERROR", "EXIT_USAGE", "EXIT_INTERRUPTED",
]

log = logging.getLogger("depthstyle")

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def float_list(text: str) -> tuple[float, ...]:
    """Option type: comma-separated numbers."""
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") \
            from None


def _number(text: str, ok, rule: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not ok(v):
        raise argparse.ArgumentTypeError(f"must be {rule}, got {v}")
    return v


def unit_float(text: str) -> float:
    """Option type: a number in [0, 1]."""
    return _number(text, lambda v: 0.0 <= v <= 1.0, "between 0 and 1")


def nonneg_float(text: str) -> float:
    """Option type: a finite number >= 0."""
    return _number(text, lambda v: 0.0 <= v < float("inf"), "a finite number >= 0")


def positive_float(text: str) -> float:
    """Option type: a finite number > 0."""
    return _number(text, lambda v: 0.0 < v < float("inf"), "a finite number > 0")


def positive_int(text: str) -> int:
    """Option type: an integer >= 1."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def levels_arg(text: str) -> tuple[str, ...]:
    """Option type: comma-separated encoder levels (numbers or tap names)."""
    return tuple(x.strip() for x in text.split(",") if x.strip())


# --- shared option groups ----------------------------------------------------------------------

def add_model_options(p: argparse.ArgumentParser) -> None:
    """Add ``--model``, ``--device`` and ``--half``."""
    g = p.add_argument_group("model")
    g.add_argument("--model", default="depthstyle-lite0", metavar="NAME|FILE",
                   help="registry name (see `depthstyle weights list`) or a decoder .safetensors "
                        "written by `depthstyle train` (default: %(default)s, bundled)")
    g.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps (default: auto)")
    g.add_argument("--half", action="store_true", help="float16 on CUDA (ignored on CPU)")


def add_backend_options(p: argparse.ArgumentParser) -> None:
    """Add ``--backend`` and ``--onnx-dir``."""
    g = p.add_argument_group("backend")
    g.add_argument("--backend", choices=("torch", "onnxruntime"), default="torch",
                   help="run the networks in PyTorch (default) or in onnxruntime on the CPU "
                        "(needs the 'onnx' extra; no --mask or tiling there)")
    g.add_argument("--onnx-dir", default=None, metavar="DIR",
                   help="an export from `depthstyle export --format onnx` (default: exported "
                        "once into the cache for --model)")


def stylizer_spec(args: argparse.Namespace, **fields):
    """The :class:`~depthstyle.batch.StylizerSpec` of the model, backend and depth options.

    ``fields`` override what the options say (e.g. ``depth="none"``, ``tile_size=...``).
    """
    from depthstyle.batch import StylizerSpec

    values = dict(model=args.model, device=args.device, half=args.half,
                  backend=getattr(args, "backend", "torch"),
                  onnx_dir=getattr(args, "onnx_dir", None),
                  max_pixels=getattr(args, "max_pixels", None),
                  depth=getattr(args, "depth", "none"),
                  depth_kind=getattr(args, "depth_kind", None),
                  depth_model=getattr(args, "depth_model", None),
                  depth_resolution=getattr(args, "depth_resolution", None))
    values.update(fields)
    return StylizerSpec(**values)


def make_stylizer(args: argparse.Namespace, tile_size=None):
    """The Stylizer of the chosen model and backend, without a default depth source (serve)."""
    return stylizer_spec(args, depth="none", tile_size=tile_size).build()


def add_strength_options(p: argparse.ArgumentParser) -> None:
    """Add the strength options shared by stylize, video and optimize."""
    from depthstyle.strength import DEFAULT_CONTRAST, DEFAULT_OFFSET
    from depthstyle.texture import DEFAULT_TEXTURE_MATCH

    g = p.add_argument_group("strength (docs/method.md)")
    g.add_argument("--alpha", type=unit_float, default=1.0,
                   help="global stylization strength, 0 = content only (default: 1)")
    g.add_argument("--offset", type=unit_float, default=DEFAULT_OFFSET,
                   help="minimum strength of the nearest regions as a fraction of alpha "
                        "(default: %(default)s)")
    g.add_argument("--contrast", type=nonneg_float, default=DEFAULT_CONTRAST,
                   help="sharpness of the near/far split (default: %(default)s)")
    g.add_argument("--levels", type=levels_arg, default=(), metavar="L1,L2",
                   help="encoder levels where strength acts: numbers 1-3 or tap names, each "
                        "once (a level given twice is refused) (default: the model's: every "
                        "level the decoder reads)")
    g.add_argument("--invert", action="store_true",
                   help="stylize near regions and keep far ones")
    g.add_argument("--strength", choices=("proximity", "learned", "uniform"),
                   default="proximity",
                   help="proximity: the hand-set transform of the depth (default); learned: the "
                        "model's learned module (`depthstyle train --learn-strength`); uniform: "
                        "alpha everywhere, depth ignored")
    g.add_argument("--detail", choices=("blend", "residual", "off"), default="blend",
                   help="how the photo comes back where strength is low (docs/method.md 5b): "
                        "blend: lerp(output, photo, (1 - strength)^3), one decoder pass "
                        "(default); residual: adds back what the decoder loses, a second "
                        "decoder pass per new photo; off: the decoder's output alone. Blend "
                        "and residual give exactly the photo at strength 0")
    g.add_argument("--no-detail", dest="detail", action="store_const", const="off",
                   help="same as --detail off")
    g.add_argument("--texture-match", type=unit_float, default=DEFAULT_TEXTURE_MATCH, metavar="A",
                   help="how far the output's luminance texture is moved to the painting's "
                        "where it is stylized (docs/method.md 5d: histograms of its oriented "
                        "pyramid bands and of its luminance, blended in as A x strength^3); "
                        "0 = the decoder's texture as it is (default: %(default)s)")


def settings_from_args(args: argparse.Namespace, **fields):
    """StyleSettings from the shared strength options (one translation for every command)."""
    from depthstyle.settings import StyleSettings

    return StyleSettings.from_options(
        strength=args.strength, depth=args.depth != "none", levels=args.levels,
        alpha=args.alpha, offset=args.offset, contrast=args.contrast, invert=args.invert,
        detail=args.detail, texture_match=args.texture_match, **fields)


def add_depth_options(p: argparse.ArgumentParser, default: str = "auto") -> None:
    """Add ``--depth``, ``--depth-kind``, ``--depth-model``, ``--depth-resolution``."""
    from depthstyle.depth import DEFAULT_DEPTH_MODEL

    g = p.add_argument_group("depth")
    g.add_argument("--depth", default=default, metavar="auto|none|FILE|DIR",
                   help="where proximity comes from (default: %(default)s = a map beside the "
                        "photo, else the depth model, found or downloaded once, else uniform)")
    g.add_argument("--depth-kind", choices=("depth", "disparity"), default=None,
                   help="how to read depth-map files: depth (larger = farther) or disparity "
                        "(larger = nearer, also inverse depth) (default: disparity if the file "
                        "name contains 'disparity', else depth)")
    g.add_argument("--depth-model", default=DEFAULT_DEPTH_MODEL, metavar="ID|DIR",
                   help="depth model for --depth auto: a local folder, a hub id, or "
                        "depth-anything-v2-small (default: %(default)s)")
    add_depth_size_option(g)


def add_depth_size_option(g) -> None:
    """Add ``--depth-size`` (also ``--depth-resolution``): the depth model's input size."""
    g.add_argument("--depth-size", "--depth-resolution", dest="depth_resolution",
                   type=positive_int, default=DEFAULT_DEPTH_SIZE, metavar="PX",
                   help="input size (short side) of the depth model: smaller is faster; "
                        "%(default)s keeps the strength map within 0.003 of full-resolution "
                        "depth (docs/results.md, \"Depth size\"; the model's own is 518)")


def add_ray_options(g) -> None:
    """Add ``--ray-address`` and ``--cpus-per-actor`` to an option group."""
    g.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="join this Ray cluster (host:port, ray://host:10001 or auto) "
                        "instead of starting one on this machine")
    g.add_argument("--cpus-per-actor", type=positive_float, default=1.0, metavar="C",
                   help="CPUs each Ray worker reserves on a CPU cluster; fractions allowed "
                        "(default: 1; on a GPU cluster each takes one GPU)")


def add_common(p: argparse.ArgumentParser) -> None:
    """Add ``-v`` and ``-q``."""
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    p.add_argument("-q", "--quiet", action="store_true", help="only errors")


def depth_source_from_args(args: argparse.Namespace, device=None):
    """The depth source of ``--depth``/``--depth-kind``/``--depth-model``/``--depth-resolution``."""
    from depthstyle.depth import make_depth_source

    return make_depth_source(args.depth, kind=args.depth_kind, model=args.depth_model,
                             device=device if device is not None else resolve_device(args.device),
                             resolution=args.depth_resolution)


def check_output(path: str | Path, overwrite: bool) -> Path:
    """The output path, checked as :func:`depthstyle.jobs.check_outputs` checks a batch's."""
    from depthstyle.jobs import check_outputs

    out = Path(path)
    check_outputs([out], overwrite)
    return out


def resolve_device(device: str):
    """The checked torch device of ``--device``."""
    from depthstyle.pipeline import select_device

    return select_device(device)
