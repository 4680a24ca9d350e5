"""Command-line interface: ``depthstyle COMMAND`` (stylize, optimize, video, serve, export...).

Exit codes: 0 success; 1 a run error (unreadable input, missing weights...) or some inputs of a
batch failed; 2 invalid usage or option values; 130 interrupted.
"""

from __future__ import annotations

import argparse
import glob
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from depthstyle.errors import DepthStyleError, SettingsError

log = logging.getLogger("depthstyle")

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

STYLIZE_EXAMPLES = """\
examples:
  depthstyle stylize photo.jpg -s painting.jpg -o out.png
  depthstyle stylize photo.jpg -s painting.jpg -o out.png --depth photo_depth.png --save-maps
  depthstyle stylize photos/ -s a.jpg -s b.jpg -o results/          # every photo x every style
  depthstyle stylize photo.jpg -s a.jpg -s b.jpg --style-weights 0.7,0.3 -o mix.png
  depthstyle stylize photo.jpg -s a.jpg -s b.jpg --mask mask.png -o regions.png
  depthstyle stylize photo.jpg -s painting.jpg --depth auto --offset 0.3 --contrast 20 -o out.png
  depthstyle stylize photo.jpg -s painting.jpg --depth none --alpha 0.6 -o plain_adain.png

depth: --depth none (uniform strength, plain AdaIN), auto (monocular model, needs
'transformers' and a local model), FILE (a depth map; add --depth-kind disparity for
disparity/inverse depth), or DIR (maps named <content-stem>.depth.png, .png, .npy, .pfm).
"""


def _float_list(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") \
            from None


def _unit_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {v}")
    return v


def _nonneg_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (0.0 <= v < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {v}")
    return v


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (0.0 < v < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {v}")
    return v


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def _levels(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


# --- shared option groups ----------------------------------------------------------------------

def _add_model_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--model", default="depthstyle-lite0", metavar="NAME|FILE",
                   help="registry name (see `depthstyle weights list`) or a decoder .safetensors "
                        "written by `depthstyle train` (default: %(default)s, bundled)")
    g.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps (default: auto)")
    g.add_argument("--half", action="store_true", help="float16 on CUDA (ignored on CPU)")


def _add_backend_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("backend")
    g.add_argument("--backend", choices=("torch", "onnxruntime"), default="torch",
                   help="run the networks in PyTorch (default) or in onnxruntime on the CPU "
                        "(needs the 'onnx' extra; no --mask or tiling there)")
    g.add_argument("--onnx-dir", default=None, metavar="DIR",
                   help="an export from `depthstyle export --format onnx` (default: exported "
                        "once into the cache for --model)")


def _make_stylizer(args: argparse.Namespace, depth=None, tile_size=None):
    """The Stylizer of the chosen backend (shared by stylize and serve)."""
    from depthstyle.pipeline import Stylizer

    if getattr(args, "backend", "torch") == "onnxruntime":
        return Stylizer.from_onnx(_onnx_dir(args), depth=depth, max_pixels=args.max_pixels)
    return Stylizer(args.model, depth=depth, device=args.device, half=args.half,
                    max_pixels=args.max_pixels, tile_size=tile_size)


def _onnx_dir(args: argparse.Namespace) -> Path:
    if args.onnx_dir:
        return Path(args.onnx_dir)
    from depthstyle.export import export_onnx
    from depthstyle.weights import cache_dir, resolve_name

    name = resolve_name(args.model)  # an alias's target changes between releases
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(name).name)
    folder = cache_dir() / "onnx" / safe
    if not (folder / "manifest.json").is_file():
        log.warning("exporting %s to ONNX once, into %s (about 20 s)", args.model, folder)
        export_onnx(args.model, folder, overwrite=True)
    return folder


def _add_strength_options(p: argparse.ArgumentParser) -> None:
    from depthstyle.strength import DEFAULT_CONTRAST, DEFAULT_OFFSET

    g = p.add_argument_group("strength (docs/method.md)")
    g.add_argument("--alpha", type=_unit_float, default=1.0,
                   help="global stylization strength, 0 = content only (default: 1)")
    g.add_argument("--offset", type=_unit_float, default=DEFAULT_OFFSET,
                   help="minimum strength of the nearest regions as a fraction of alpha "
                        "(default: %(default)s)")
    g.add_argument("--contrast", type=_nonneg_float, default=DEFAULT_CONTRAST,
                   help="sharpness of the near/far split (default: %(default)s)")
    g.add_argument("--levels", type=_levels, default=(), metavar="L1,L2",
                   help="encoder levels where strength acts: numbers 1-4 or tap names "
                        "(default: the deepest)")
    g.add_argument("--invert", action="store_true",
                   help="stylize near regions and keep far ones")
    g.add_argument("--strength", choices=("proximity", "learned", "uniform"),
                   default="proximity",
                   help="proximity: the hand-set transform of the depth (default); learned: the "
                        "model's learned module (`depthstyle train --learn-strength`); uniform: "
                        "alpha everywhere, depth ignored")
    g.add_argument("--no-detail", dest="detail", action="store_false",
                   help="leave out the detail residual that gives the photo back where "
                        "strength is low (docs/method.md); the decoder's output alone")


def _settings(args: argparse.Namespace, **fields):
    """StyleSettings from the shared strength options (one translation for every command)."""
    from depthstyle.settings import StyleSettings

    return StyleSettings.from_options(
        strength=args.strength, depth=args.depth != "none", levels=args.levels,
        alpha=args.alpha, offset=args.offset, contrast=args.contrast, invert=args.invert,
        detail=args.detail, **fields)


def _add_depth_options(p: argparse.ArgumentParser, default: str = "none") -> None:
    from depthstyle.depth import DEFAULT_DEPTH_MODEL

    g = p.add_argument_group("depth")
    g.add_argument("--depth", default=default, metavar="none|auto|FILE|DIR",
                   help="where proximity comes from (default: %(default)s)")
    g.add_argument("--depth-kind", choices=("depth", "disparity"), default="depth",
                   help="how to read depth-map files: depth (larger = farther) or disparity "
                        "(larger = nearer, also inverse depth) (default: depth)")
    g.add_argument("--depth-model", default=DEFAULT_DEPTH_MODEL, metavar="ID|DIR",
                   help="depth model for --depth auto: local folder or cached hub id "
                        "(default: %(default)s)")
    g.add_argument("--depth-resolution", type=_positive_int, default=None, metavar="PX",
                   help="input size of the depth model (smaller = faster)")


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    p.add_argument("-q", "--quiet", action="store_true", help="only errors")


# --- stylize -----------------------------------------------------------------------------------

def _expand_inputs(items: Sequence[str]) -> list[Path]:
    from depthstyle.io import IMAGE_EXTENSIONS

    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file()
                           and f.suffix.lower() in IMAGE_EXTENSIONS and not f.name.startswith("."))
            if not found:
                raise DepthStyleError(
                    f"{p}: folder holds no images ({', '.join(IMAGE_EXTENSIONS)})")
            out += found
        elif any(c in item for c in "*?["):
            matches = sorted(Path(m) for m in glob.glob(item, recursive=True))
            if not matches:
                raise DepthStyleError(f"{item}: pattern matches no file")
            out += [m for m in matches if m.is_file()]
        else:
            out.append(p)  # missing files are reported per file, with the others still done
    return out


def _output_paths(contents: list[Path], styles: list[Path], out: Path, fmt: str, combine: bool
                  ) -> list[tuple[Path, list[Path], Path]]:
    """(content, styles of this job, output path) for every job."""
    style_groups = [styles] if combine else [[s] for s in styles]
    single = len(contents) == 1 and len(style_groups) == 1
    if single and out.suffix:
        return [(contents[0], style_groups[0], out)]
    if out.suffix and out.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff",
                                             ".bmp"):
        raise SettingsError(f"{out}: several outputs ({len(contents) * len(style_groups)}) need "
                            "an output folder, not a file name")
    jobs = []
    for c in contents:
        for group in style_groups:
            tag = "+".join(s.stem for s in group)
            jobs.append((c, group, out / f"{c.stem}_{tag}.{fmt}"))
    return jobs


def _load_masks(paths: list[str], n_styles: int):
    import torch
    import torch.nn.functional as F

    from depthstyle.io import read_map_array

    if n_styles < 2:
        raise SettingsError("--mask needs at least two styles (one per region)")
    maps = []
    for p in paths:
        arr = torch.from_numpy(read_map_array(p))
        top = float(arr.max()) if float(arr.max()) > 1 else 1.0
        maps.append((arr / (255.0 if top <= 255 else top))[None, None])
    if len(maps) == 1 and n_styles == 2:
        maps.append(1 - maps[0])
    if len(maps) != n_styles:
        raise SettingsError(f"{len(maps)} masks for {n_styles} styles: give one mask per style "
                            "(or one mask for two styles: white = first, black = second)")
    size = maps[0].shape[-2:]
    m = torch.cat([F.interpolate(x, size=size, mode="bilinear", align_corners=False)
                   for x in maps], 1)
    return m.clamp(0, 1)


def _resolve_device(device: str):
    from depthstyle.pipeline import select_device

    return select_device(device)


def _cmd_stylize(args: argparse.Namespace) -> int:
    import torch
    from tqdm.auto import tqdm

    from depthstyle.depth import DepthMapFile, find_depth_file, make_depth_source
    from depthstyle.io import load_image_with_alpha, save_image

    settings = _settings(args, preserve_color=args.preserve_color,
                         style_weights=args.style_weights, content_size=args.content_size,
                         style_size=args.style_size, crop=args.crop)
    contents = _expand_inputs(args.content)
    styles = _expand_inputs(args.style)
    combine = bool(args.style_weights) or bool(args.mask)
    if args.style_weights and len(args.style_weights) != len(styles):
        raise SettingsError(f"--style-weights has {len(args.style_weights)} values for "
                            f"{len(styles)} styles")
    jobs = _output_paths(contents, styles, Path(args.output), args.format, combine)
    if not args.overwrite:
        existing = [str(o) for _, _, o in jobs if o.exists()]
        if existing:
            raise DepthStyleError(f"{len(existing)} output file(s) exist, e.g. {existing[0]}; "
                                  "use --overwrite to replace them")
    depth_dir = None
    if args.depth not in ("none", "auto") and Path(args.depth).is_dir():
        depth_dir = Path(args.depth)
    if depth_dir is None and args.depth not in ("none", "auto") and len(contents) > 1:
        raise SettingsError("--depth FILE applies to one content image; for several give a "
                            "folder of maps named after the contents, or --depth auto")
    default_depth = None
    if depth_dir is None:
        default_depth = make_depth_source(args.depth, kind=args.depth_kind, model=args.depth_model,
                                          device=_resolve_device(args.device),
                                          resolution=args.depth_resolution)
    if args.backend == "onnxruntime" and args.mask:
        raise SettingsError("--mask is not supported with --backend onnxruntime")
    stylizer = _make_stylizer(args, depth=default_depth, tile_size=args.tile or None)
    stylizer.check(settings)
    log.info("%s on %s (%s); %d job(s)", args.model, stylizer.device, args.backend, len(jobs))

    # with masks all styles form one group, so the masks are the same for every job
    masks = _load_masks(args.mask, len(styles)) if args.mask else None
    failures: list[str] = []
    bar = tqdm(jobs, desc="stylize", unit="img", disable=None if len(jobs) > 1 else True)
    for content, group, out in bar:
        try:
            rgb, alpha = load_image_with_alpha(content, max_pixels=args.max_pixels)
            if alpha is not None and args.alpha_mode == "composite":
                rgb, alpha = rgb * alpha + (1 - alpha), None
            depth = None
            if depth_dir is not None:
                dfile = find_depth_file(depth_dir, content.stem)
                if dfile is None:
                    raise DepthStyleError(f"{content}: no depth map named {content.stem}.* in "
                                          f"{depth_dir}")
                depth = DepthMapFile(dfile, args.depth_kind)
            result = stylizer(rgb, group, settings, depth=depth, masks=masks)
            if alpha is not None:
                alpha = torch.nn.functional.interpolate(alpha, size=result.image.shape[-2:],
                                                        mode="bilinear", align_corners=False)
            save_image(result.image, out, overwrite=args.overwrite, alpha=alpha,
                       quality=args.quality)
            if args.save_maps:
                for name, m in (("proximity", result.proximity), ("strength", result.strength)):
                    save_image(m.expand(-1, 3, -1, -1), out.with_name(f"{out.stem}.{name}.png"),
                               overwrite=args.overwrite)
            log.info("wrote %s", out)
        except (DepthStyleError, ValueError, OSError) as exc:
            msg = str(exc) if str(content) in str(exc) else f"{content}: {exc}"
            failures.append(msg)
            log.error("%s", msg)
    if failures:
        log.error("%d of %d job(s) failed; the other outputs were written", len(failures),
                  len(jobs))
        return EXIT_ERROR
    if not args.quiet and len(jobs) == 1:
        print(jobs[0][2])
    return EXIT_OK


def _add_stylize(sub) -> None:
    from depthstyle.io import DEFAULT_MAX_PIXELS

    p = sub.add_parser(
        "stylize", help="stylize images (depth-aware AdaIN)",
        description="Stylize one or many content images with one or more styles. Near regions "
                    "keep more content, far regions take more style, when a depth source is "
                    "given.",
        epilog=STYLIZE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("content", nargs="+", help="content image(s), folder(s) or glob pattern(s)")
    p.add_argument("-s", "--style", action="append", required=True, metavar="STYLE",
                   help="style image, folder or glob; repeat for several styles")
    p.add_argument("-o", "--output", required=True,
                   help="output file (one result) or folder (several)")
    p.add_argument("--style-weights", type=_float_list, default=None, metavar="W1,W2",
                   help="interpolate the styles into one with these weights")
    p.add_argument("--mask", action="append", metavar="MASK",
                   help="spatial control: one mask per style (white = that style), or one mask "
                        "for two styles (white = first, black = second)")
    p.add_argument("--preserve-color", choices=("luminance", "histogram"), default=None,
                   help="keep the content's colours: luminance-only transfer, or recolour the "
                        "style to the content's colour statistics")
    p.add_argument("--content-size", type=_positive_int, default=512, metavar="PX",
                   help="shrink the content so its longer side is at most PX (default: 512)")
    p.add_argument("--style-size", type=_positive_int, default=512, metavar="PX",
                   help="shrink styles so their longer side is at most PX (default: 512)")
    p.add_argument("--crop", action="store_true", help="centre-crop the content to a square")
    p.add_argument("--save-maps", action="store_true",
                   help="also write OUT.proximity.png and OUT.strength.png")
    p.add_argument("--format", default="png", choices=("png", "jpg", "webp", "tif"),
                   help="file type in an output folder (default: png)")
    p.add_argument("--quality", type=_positive_int, default=95, help="JPEG/WebP quality")
    p.add_argument("--alpha-mode", choices=("composite", "keep"), default="composite",
                   help="transparent inputs: composite over white (default) or keep the alpha "
                        "channel in the output (PNG/WebP/TIFF)")
    p.add_argument("--max-pixels", type=_positive_int, default=DEFAULT_MAX_PIXELS,
                   help="refuse larger images (default: %(default)s)")
    p.add_argument("--tile", type=int, default=2048, metavar="PX",
                   help="process contents larger than PX in PX tiles with whole-image statistics "
                        "(bounded memory, no seams); 0 = never (default: 2048)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    _add_strength_options(p)
    _add_depth_options(p)
    _add_model_options(p)
    _add_backend_options(p)
    _add_common(p)
    p.set_defaults(func=_cmd_stylize)


# --- info / weights ----------------------------------------------------------------------------

def _cmd_info(args: argparse.Namespace) -> int:
    import platform

    import numpy
    import PIL
    import torch

    from depthstyle import __version__
    from depthstyle.pipeline import select_device
    from depthstyle.weights import REGISTRY, cache_dir, find_file, offline_dir

    try:
        import transformers

        tf = transformers.__version__
    except ImportError:
        tf = "not installed (pip install 'depthstyle[depth]' for --depth auto)"
    lines = [
        f"depthstyle {__version__}",
        f"python {platform.python_version()} on {platform.platform()}",
        f"torch {torch.__version__}, numpy {numpy.__version__}, pillow {PIL.__version__}",
        f"transformers {tf}",
        f"device (auto): {select_device('auto')}; threads: {torch.get_num_threads()}",
        f"weights cache: {cache_dir()}",
        f"offline weights dir: {offline_dir() or '(DEPTHSTYLE_WEIGHTS_DIR not set)'}",
        "models:",
    ]
    for name, entry in REGISTRY.items():
        present = all(find_file(wf) for wf in entry.files.values())
        lines.append(f"  {name:18s} {'available' if present else 'not downloaded'}  "
                     f"{entry.description}")
    print("\n".join(lines))
    return EXIT_OK


def _cmd_weights(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from depthstyle import weights as W

    names = [W.get_entry(args.name).name] if args.name else list(W.REGISTRY)
    if args.action == "list":
        for alias, target in W.ALIASES.items():
            if not args.name or W.resolve_name(args.name) == target:
                print(f"{alias} -> {target} (the current release)")
        for n in names:
            e = W.REGISTRY[n]
            print(f"{n}: {e.description}\n  licence: {e.license}\n  source: {e.source}")
            for role, wf in e.files.items():
                where = W.find_file(wf)
                print(f"  {role}: {wf.filename} sha256={wf.sha256 or 'not pinned'} "
                      f"[{'present at ' + str(where) if where else 'absent'}]")
                if wf.note:
                    print(f"    {wf.note}")
        return EXIT_OK
    if args.action == "path":
        for n in names:
            for role, wf in W.REGISTRY[n].files.items():
                print(f"{n}\t{role}\t{W.find_file(wf) or W.cache_dir() / wf.filename}")
        return EXIT_OK
    if args.action == "download":
        for n in names:
            for wf in W.REGISTRY[n].files.values():
                with tqdm(unit="B", unit_scale=True, desc=wf.filename, disable=None) as bar:
                    def progress(done, total, bar=bar):
                        bar.total = total
                        bar.update(done - bar.n)
                    path = W.fetch_file(wf, progress=progress)
                print(f"{wf.filename}: {path}")
        return EXIT_OK
    # verify
    bad = False
    for n in names:
        for role, status in W.verify_model(n).items():
            print(f"{n}\t{role}\t{status}")
            bad |= status.startswith("MISMATCH")
    return EXIT_ERROR if bad else EXIT_OK


# --- train -------------------------------------------------------------------------------------

def _cmd_train(args: argparse.Namespace) -> int:
    from depthstyle.training.trainer import TrainConfig, Trainer

    if args.learn_strength:
        return _train_strength(args)
    cfg = TrainConfig(
        content_dir=args.content_dir, style_dir=args.style_dir, out_dir=args.output,
        encoder=args.encoder, encoder_seed=args.encoder_seed,
        widths=tuple(int(w) for w in args.widths) if args.widths else None,
        size=args.size, batch_size=args.batch_size, steps=args.steps,
        lr=args.lr if args.lr is not None else 1e-4,
        lr_decay=args.lr_decay if args.lr_decay is not None else 5e-5,
        style_weight=args.style_weight, mix_fraction=args.mix_fraction,
        depth_weight=args.depth_weight, depth_model=args.depth_model, seed=args.seed,
        checkpoint_every=args.checkpoint_every, sample_every=args.sample_every,
        max_minutes=args.max_minutes, device=str(_resolve_device(args.device)),
        amp=not args.no_amp, decoder=args.decoder, skip_width=args.skip_width,
        pixel_weight=args.pixel_weight, holdout=args.holdout, init_from=args.init_from)
    path = Trainer(cfg).run(progress=not args.quiet)
    print(path)
    return EXIT_OK


def _train_strength(args: argparse.Namespace) -> int:
    from depthstyle.training.strength_trainer import StrengthTrainConfig, StrengthTrainer

    cfg = StrengthTrainConfig(
        content_dir=args.content_dir, style_dir=args.style_dir, out_dir=args.output,
        base_model=args.model, groups=args.strength_groups, hidden=args.strength_hidden,
        size=args.size, batch_size=args.batch_size, steps=args.steps,
        lr=args.lr if args.lr is not None else 1e-3,
        lr_decay=args.lr_decay if args.lr_decay is not None else 0.0,
        content_weight=args.content_weight, style_weight=args.style_weight,
        depth_weight=args.depth_weight, depth_model=args.depth_model, seed=args.seed,
        checkpoint_every=args.checkpoint_every, sample_every=args.sample_every,
        max_minutes=args.max_minutes, device=str(_resolve_device(args.device)))
    path = StrengthTrainer(cfg).run(progress=not args.quiet)
    print(path)
    return EXIT_OK


def _add_train(sub) -> None:
    from depthstyle.models import ENCODERS

    p = sub.add_parser(
        "train", help="train a decoder (or the learned strength module) on your own images",
        description="Train an AdaIN decoder (content + mean/std style loss, optional "
                    "depth-preservation loss), or with --learn-strength the learned strength "
                    "module of a trained model (docs/method.md). Resumes automatically from "
                    "OUTPUT/checkpoint.pt.",
        epilog="examples:\n  depthstyle train photos/ paintings/ -o runs/mine --steps 20000\n"
               "  depthstyle stylize x.jpg -s y.jpg --model runs/mine/decoder.safetensors -o o.png"
               "\n  depthstyle train photos/ paintings/ -o runs/strength --learn-strength "
               "--steps 1500\n  depthstyle stylize x.jpg -s y.jpg --depth d.png --strength "
               "learned --model runs/strength/model.safetensors -o o.png",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("content_dir", help="folder of content photos (searched recursively)")
    p.add_argument("style_dir", help="folder of style images (searched recursively)")
    p.add_argument("-o", "--output", required=True, help="run folder (checkpoints, log, samples)")
    p.add_argument("--encoder", choices=ENCODERS, default="lite0")
    p.add_argument("--encoder-seed", type=int, default=0, help="seed of random-vgg19")
    p.add_argument("--widths", type=lambda t: t.split(","), default=None, metavar="W1,W2,...",
                   help="decoder channels per scale, deepest first")
    p.add_argument("--decoder", choices=("compact", "skip"), default="compact",
                   help="compact: decodes the deepest tap only (model v1); skip: also reads "
                        "every shallower tap, restyled the same way (model v2)")
    p.add_argument("--skip-width", type=_positive_int, default=32,
                   help="channels of each skip projection (--decoder skip; default: 32)")
    p.add_argument("--pixel-weight", type=_nonneg_float, default=0.0, metavar="W",
                   help="weight of the (1 - strength)-weighted L1 to the photo on the partly "
                        "stylized share (teaches 'strength 0 gives the photo back'; v2: 10)")
    p.add_argument("--init-from", default=None, metavar="NAME|FILE",
                   help="warm-start the decoder from a trained model's (v2 started from v1: "
                        "its trunk is copied, the skip inputs start at zero)")
    p.add_argument("--holdout", default=None, metavar="SPLIT.json",
                   help="JSON with 'content' and 'style' file names never to train on "
                        "(the validation split, e.g. benchmarks/validation-split.json)")
    p.add_argument("--size", type=_positive_int, default=256, help="crop size (default: 256)")
    p.add_argument("--batch-size", type=_positive_int, default=8)
    p.add_argument("--steps", type=_positive_int, default=10_000)
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate (default: 1e-4 for a decoder, 1e-3 for --learn-strength)")
    p.add_argument("--lr-decay", type=float, default=None,
                   help="lr / (1 + decay * step) (default: 5e-5 for a decoder, 0 for "
                        "--learn-strength)")
    p.add_argument("--style-weight", type=float, default=10.0)
    p.add_argument("--mix-fraction", type=float, default=0.25,
                   help="share of each batch trained on partly stylized features")
    p.add_argument("--depth-weight", type=float, default=0.0,
                   help="weight of the depth-preservation loss (needs --depth-model)")
    p.add_argument("--depth-model", default=None, help="differentiable depth model (ID or DIR)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint-every", type=_positive_int, default=250)
    p.add_argument("--sample-every", type=int, default=500, help="0 = no sample grids")
    p.add_argument("--max-minutes", type=float, default=None, help="stop (and checkpoint) after")
    p.add_argument("--device", default="auto")
    p.add_argument("--no-amp", action="store_true", help="disable bfloat16 autocast on CUDA")
    g = p.add_argument_group("learned strength (--learn-strength)")
    g.add_argument("--learn-strength", action="store_true",
                   help="train the learned strength module of --model (encoder and decoder "
                        "frozen) instead of a decoder; writes OUTPUT/model.safetensors")
    g.add_argument("--model", default="depthstyle-lite0", metavar="NAME|FILE",
                   help="the model whose strength module is trained (default: %(default)s)")
    g.add_argument("--strength-groups", type=_positive_int, default=1, metavar="G",
                   help="channel groups per level, each with its own map (default: 1)")
    g.add_argument("--strength-hidden", type=_positive_int, default=32, metavar="N",
                   help="width of the module's MLP (default: 32)")
    g.add_argument("--content-weight", type=_nonneg_float, default=10.0, metavar="W",
                   help="weight of the proximity-weighted content loss (default: 10)")
    _add_common(p)
    p.set_defaults(func=_cmd_train)


# --- video -------------------------------------------------------------------------------------

def _cmd_video(args: argparse.Namespace) -> int:
    import json

    from depthstyle.depth import make_depth_source
    from depthstyle.pipeline import Stylizer
    from depthstyle.video import VideoSettings, stylize_video

    settings = _settings(args, style_size=args.style_size, preserve_color=args.preserve_color)
    vs = VideoSettings(size=args.size, codec=args.codec, crf=args.crf,
                       depth_every=args.depth_every,
                       depth_momentum=0.0 if args.no_smoothing else args.depth_momentum,
                       output_smoothing=0.0 if args.no_smoothing else args.output_smoothing,
                       max_frames=args.max_frames)
    vs.validate()
    out = Path(args.output)
    if out.exists() and not args.overwrite:
        raise DepthStyleError(f"{out}: exists (use --overwrite to replace it)")
    device = _resolve_device(args.device)
    depth = make_depth_source(args.depth, kind=args.depth_kind, model=args.depth_model,
                              device=device, resolution=args.depth_resolution)
    stylizer = Stylizer(args.model, device=args.device, half=args.half)
    styles = _expand_inputs(args.style)
    report = stylize_video(args.input, out, stylizer, styles if len(styles) > 1 else styles[0],
                           settings, vs, depth=depth, overwrite=args.overwrite,
                           progress=not args.quiet)
    summary = report.summary()
    log.info("%s", json.dumps(summary))
    if args.stats:
        from depthstyle.io import write_text

        write_text(args.stats, json.dumps(summary, indent=2), overwrite=True)
    if report.skipped_packets:
        log.warning("%d undecodable video packet(s) were skipped", report.skipped_packets)
    if not args.quiet:
        print(out)
    return EXIT_OK


def _add_video(sub) -> None:
    p = sub.add_parser(
        "video", help="stylize a video clip (keeps audio, reduces flicker)",
        description="Stylize a video frame by frame with temporal smoothing of the depth and "
                    "strength maps and of the output (static regions keep the previous "
                    "output). Frame rate, duration and the audio track are kept.",
        epilog="examples:\n  depthstyle video clip.mp4 -s painting.jpg -o clip_styled.mp4\n"
               "  depthstyle video clip.mp4 -s painting.jpg -o raw.mp4 --no-smoothing\n"
               "  depthstyle video clip.mp4 -s painting.jpg --depth auto --depth-every 4 "
               "-o deep.mp4",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="input video (any format FFmpeg reads)")
    p.add_argument("-s", "--style", action="append", required=True, help="style image")
    p.add_argument("-o", "--output", required=True, help="output .mp4, .mov, .mkv or .webm")
    p.add_argument("--size", type=_positive_int, default=None,
                   help="longer side of the output frames (default: the input's)")
    p.add_argument("--style-size", type=_positive_int, default=512)
    p.add_argument("--codec", default=None, help="video codec (default: libx264; VP9 for .webm)")
    p.add_argument("--crf", type=int, default=20, help="quality, lower = better (default 20)")
    p.add_argument("--preserve-color", choices=("luminance", "histogram"), default=None)
    p.add_argument("--depth-every", type=_positive_int, default=1,
                   help="estimate depth every K frames (default 1)")
    p.add_argument("--depth-momentum", type=float, default=0.6,
                   help="temporal smoothing of depth/strength maps, 0..1 (default 0.6)")
    p.add_argument("--output-smoothing", type=float, default=0.5,
                   help="weight of the previous output in static regions, 0..1 (default 0.5)")
    p.add_argument("--no-smoothing", action="store_true", help="turn all smoothing off")
    p.add_argument("--max-frames", type=_positive_int, default=None,
                   help="stop after N frames (previews)")
    p.add_argument("--stats", metavar="JSON", help="write frame counts and flicker numbers here")
    p.add_argument("--overwrite", action="store_true")
    _add_strength_options(p)
    _add_depth_options(p)
    _add_model_options(p)
    _add_common(p)
    p.set_defaults(func=_cmd_video)


# --- eval --------------------------------------------------------------------------------------

def _cmd_eval_video(args: argparse.Namespace) -> int:
    import json

    from depthstyle.evaluation.flicker import flicker_ratio

    rows = [flicker_ratio(a, b, args.max_frames) for a, b in args.video]
    text = json.dumps(rows, indent=2)
    if args.output:
        from depthstyle.io import write_text

        out = Path(args.output)
        write_text(out / "flicker.json" if out.suffix != ".json" else out, text, overwrite=True)
    print(text)
    return EXIT_OK


def _cmd_eval_quality(args: argparse.Namespace) -> int:
    import csv
    import io
    import json

    from depthstyle.evaluation.quality import model_quality
    from depthstyle.evaluation.runner import loss_network_for
    from depthstyle.io import write_text
    from depthstyle.pipeline import Stylizer

    contents, styles = _expand_inputs(args.content), _expand_inputs(args.style)
    if args.split:
        from depthstyle.training.data import read_split

        split = read_split(args.split)
        contents = [c for c in contents if c.name in set(split["content"])]
        styles = [s for s in styles if s.name in set(split["style"])]
        if not contents or not styles:
            raise SettingsError(f"{args.split}: none of the given contents/styles is in the "
                                "split")
    stylizer = Stylizer(args.model, device=args.device)
    loss_name, loss_net = loss_network_for(stylizer.encoder_name)
    rows, summary = model_quality(stylizer, contents, styles, size=args.size,
                                  specificity_contents=args.specificity_contents,
                                  loss_net=loss_net, progress=not args.quiet)
    summary = {"model": stylizer.model_name, "loss_network": loss_name, "size": args.size,
               "contents": len(contents), "styles": len(styles), **summary}
    out = Path(args.output)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=keys)
    writer.writeheader()
    writer.writerows(rows)
    write_text(out / "quality.csv", buf.getvalue(), overwrite=True)
    text = json.dumps(summary, indent=2)
    write_text(out / "quality.json", text, overwrite=True)
    print(text)
    return EXIT_OK


def _cmd_eval(args: argparse.Namespace) -> int:
    if args.video:
        return _cmd_eval_video(args)
    if not args.content or not args.style or not args.output:
        raise SettingsError("eval needs CONTENT..., -s STYLE and -o OUTPUT (or --video A B)")
    if args.quality:
        return _cmd_eval_quality(args)
    from depthstyle.depth import load_transformers_depth, make_depth_source
    from depthstyle.evaluation.report import write_report
    from depthstyle.evaluation.runner import Evaluator, default_sweep, find_items
    from depthstyle.pipeline import Stylizer

    rules = []
    for rule in args.gt_kind_rule or []:
        prefix, _, kind = rule.partition(":")
        if kind not in ("depth", "disparity") or not prefix:
            raise SettingsError(f"--gt-kind-rule takes PREFIX:depth|disparity, got {rule!r}")
        rules.append((prefix, kind))
    items = find_items(_expand_inputs(args.content), Path(args.gt_dir) if args.gt_dir else None,
                       args.gt_kind, rules)
    styles = _expand_inputs(args.style)
    levels = [tuple(x for x in group.split(",") if x) for group in args.levels] \
        if args.levels else [()]
    if args.optimize_steps < 0:
        raise SettingsError("--optimize-steps must be >= 0")
    sweep = default_sweep(args.alphas, args.offsets, args.contrasts, levels,
                          learned=args.learned, optimize_steps=args.optimize_steps)
    device = _resolve_device(args.device)
    depth = make_depth_source(args.depth, kind=args.depth_kind, model=args.depth_model,
                              device=device, resolution=args.depth_resolution)
    depth_model = load_transformers_depth(args.measure_depth_model, device=device) \
        if args.measure_depth_model else None
    stylizer = Stylizer(args.model, depth=depth, device=args.device)
    for s in sweep:
        stylizer.check(s.settings(None))
    evaluator = Evaluator(stylizer, size=args.size, depth=depth, depth_model=depth_model,
                          thumbs=not args.no_images)
    rows, failures = evaluator.run(items, styles, sweep, args.output, progress=not args.quiet)
    n_gt = sum(1 for i in items if i.gt is not None)
    notes = [
        f"model: {stylizer.model_name}; content size {args.size}px; styles at 512px"
        + (f"; optimisation baseline: {args.optimize_steps} L-BFGS iterations, mean/std style "
           "loss, style weight 10, from the content" if args.optimize_steps else ""),
        f"{len(items)} contents ({n_gt} with ground-truth depth), {len(styles)} styles, "
        f"{len(sweep)} settings",
        "proximity for depth-aware settings: ground truth where available, otherwise "
        f"--depth {args.depth}",
        f"style/content distances in the loss network {evaluator.loss_name}",
        "depth of outputs measured with "
        + (args.measure_depth_model or "no depth model (depth-preservation columns empty)"),
        "nearest/farthest third: by ground-truth proximity",
    ]
    report = write_report(rows, args.output, title="depthstyle evaluation", notes=notes,
                          failures=failures)
    print(report)
    return EXIT_ERROR if failures else EXIT_OK


def _add_eval(sub) -> None:
    p = sub.add_parser(
        "eval", help="measure depth-aware vs uniform stylization on your images",
        description="Stylize contents x styles over a sweep of uniform alphas and depth-aware "
                    "settings, measure style distance, content distance, structure (SSIM, "
                    "edges; overall and in the nearest third) and, with a depth model, depth "
                    "preservation. Writes results.csv (resumable), summary.json, report.html.",
        epilog="examples:\n  depthstyle eval ../shared/depth/*.jpg -s styles/ --gt-dir "
               "../shared/depth --gt-kind depth --gt-kind-rule middlebury:disparity -o eval/\n"
               "  depthstyle eval --video clip.mp4 clip_styled.mp4",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("content", nargs="*", help="content images, folders or globs")
    p.add_argument("-s", "--style", action="append", help="style image/folder")
    p.add_argument("-o", "--output", help="output folder (or .json file with --video)")
    p.add_argument("--video", nargs=2, action="append", metavar=("ORIGINAL", "STYLIZED"),
                   help="flicker of a stylized video vs its original (repeatable); prints "
                        "temporal differences and their ratio as JSON")
    p.add_argument("--max-frames", type=_positive_int, default=None,
                   help="with --video: read at most this many frames")
    p.add_argument("--gt-dir", help="folder with ground-truth maps named <content-stem>.depth.png")
    p.add_argument("--gt-kind", choices=("depth", "disparity"), default="depth")
    p.add_argument("--gt-kind-rule", action="append", metavar="PREFIX:KIND",
                   help="ground-truth kind for contents whose name starts with PREFIX")
    p.add_argument("--alphas", type=_float_list, default=(0.2, 0.4, 0.6, 0.8, 1.0))
    p.add_argument("--offsets", type=_float_list, default=(0.0, 0.2, 0.4))
    p.add_argument("--contrasts", type=_float_list, default=(5.0, 10.0, 20.0))
    p.add_argument("--levels", action="append", metavar="L1,L2",
                   help="level set for the depth-aware points (repeat for several)")
    p.add_argument("--size", type=_positive_int, default=384, help="content size (default 384)")
    p.add_argument("--measure-depth-model", metavar="ID|DIR",
                   help="depth model that measures the depth of outputs (transformers)")
    p.add_argument("--no-images", action="store_true", help="do not write thumbnails")
    p.add_argument("--learned", action="store_true",
                   help="also evaluate the model's learned strength module at every "
                        "offset/contrast point")
    g = p.add_argument_group("model quality (--quality; docs/metrics.md)")
    g.add_argument("--quality", action="store_true",
                   help="measure the model instead of the method: reconstruction at strength 0 "
                        "(PSNR, SSIM, with and without the detail residual), border bands, and "
                        "style specificity over every style pair; writes quality.csv/json")
    g.add_argument("--split", metavar="SPLIT.json",
                   help="keep only the contents and styles named in this split file "
                        "(e.g. benchmarks/validation-split.json)")
    g.add_argument("--specificity-contents", type=_positive_int, default=20, metavar="N",
                   help="how many contents get every style for specificity (default: 20)")
    p.add_argument("--optimize-steps", type=int, default=0, metavar="N",
                   help="also run the optimisation baseline (N L-BFGS iterations, uniform and "
                        "depth-aware, alpha 1) as the quality ceiling; slow (default: off)")
    _add_depth_options(p)
    _add_model_options(p)
    _add_common(p)
    p.set_defaults(func=_cmd_eval)


# --- optimize ----------------------------------------------------------------------------------

def _cmd_optimize(args: argparse.Namespace) -> int:
    import json

    from depthstyle.depth import differentiable_depth_model, make_depth_source
    from depthstyle.io import save_image, write_text
    from depthstyle.optimize import OptimizeConfig, optimize_image
    from depthstyle.pipeline import Stylizer

    settings = _settings(args, content_size=args.content_size, style_size=args.style_size)
    if args.strength == "learned":
        raise SettingsError("optimize weights its losses with one strength map: use --strength "
                            "proximity or uniform")
    config = OptimizeConfig(
        steps=args.steps, optimizer=args.optimizer, lr=args.lr, style_loss=args.style_loss,
        init=args.init, content_weight=args.content_weight, style_weight=args.style_weight,
        depth_weight=args.depth_weight, tv_weight=args.tv_weight)
    config.validate()
    out = Path(args.output)
    if out.exists() and not args.overwrite:
        raise DepthStyleError(f"{out} exists; use --overwrite to replace it")
    device = _resolve_device(args.device)
    depth = make_depth_source(args.depth, kind=args.depth_kind, model=args.depth_model,
                              device=device, resolution=args.depth_resolution)
    depth_fn = None
    if args.depth_weight > 0:
        depth_fn = differentiable_depth_model(args.depth_model, device=device)
    stylizer = Stylizer(args.model, depth=depth, device=device)
    stylizer.check(settings)
    every = max(1, config.steps // 10)

    def report(entry: dict) -> None:
        if entry["iteration"] % every == 0:
            log.info("iteration %d/%d: loss %.5g (content %.4g, style %.4g)", entry["iteration"],
                     config.steps, entry["total"], entry["content"], entry["style"])

    result = optimize_image(stylizer, args.content, args.style, settings, config,
                            depth_fn=depth_fn, progress=not args.quiet, callback=report)
    save_image(result.image, out, overwrite=args.overwrite, quality=args.quality)
    if args.save_maps:
        save_image(result.strength.expand(-1, 3, -1, -1), out.with_name(f"{out.stem}.strength.png"),
                   overwrite=args.overwrite)
        save_image(result.init, out.with_name(f"{out.stem}.init.png"), overwrite=args.overwrite)
    if args.log:
        write_text(args.log, json.dumps({"settings": vars(settings) | {"levels": list(
            settings.levels)}, "config": vars(config), "history": result.history}, indent=1),
            overwrite=args.overwrite)
    first, last = result.history[0], result.history[-1]
    log.info("loss %.5g -> %.5g in %d iterations (%.1f s)", first["total"], last["total"],
             config.steps, last["seconds"])
    if not args.quiet:
        print(out)
    return EXIT_OK


def _add_optimize(sub) -> None:
    p = sub.add_parser(
        "optimize", help="optimisation baseline: Gatys-style image optimisation (slow, best "
                         "quality)", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Optimise the output image itself (no decoder) for content, style, optional "
                    "depth-preservation and total-variation losses in the encoder's feature "
                    "space, with the same depth-aware strength as `stylize` weighting the style "
                    "loss per pixel. It is the quality ceiling for the feed-forward model. "
                    "See docs/method.md.",
        epilog="examples:\n"
               "  depthstyle optimize photo.jpg -s painting.jpg -o opt.png\n"
               "  depthstyle optimize photo.jpg -s painting.jpg -o opt.png --depth d.png "
               "--init adain --steps 200 --log opt.json\n"
               "  depthstyle optimize photo.jpg -s painting.jpg -o opt.png --optimizer adam "
               "--style-loss gram --style-weight 1 --tv-weight 0.1")
    p.add_argument("content", help="content image")
    p.add_argument("-s", "--style", required=True, help="style image")
    p.add_argument("-o", "--output", required=True, help="output image file")
    g = p.add_argument_group("optimisation")
    g.add_argument("--steps", type=_positive_int, default=100,
                   help="iterations (default: %(default)s)")
    g.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs",
                   help="L-BFGS with line search (default) or Adam")
    g.add_argument("--lr", type=_positive_float, default=None,
                   help="step size (default: 1 for L-BFGS, 0.05 for Adam)")
    g.add_argument("--style-loss", choices=("meanstd", "gram"), default="meanstd",
                   help="style statistics: channel mean/std (AdaIN's) or Gram matrices (Gatys)")
    g.add_argument("--init", choices=("content", "adain"), default="content",
                   help="start from the content or from the feed-forward output")
    g.add_argument("--content-weight", type=_nonneg_float, default=1.0, metavar="W")
    g.add_argument("--style-weight", type=_nonneg_float, default=10.0, metavar="W")
    g.add_argument("--tv-weight", type=_nonneg_float, default=0.0, metavar="W",
                   help="total-variation weight (smoother output)")
    g.add_argument("--depth-weight", type=_nonneg_float, default=0.0, metavar="W",
                   help="depth-preservation weight (Liu et al. 2017); needs the depth model "
                        "given by --depth-model")
    g.add_argument("--content-size", type=_positive_int, default=384, metavar="PX",
                   help="longer side of the content (default: %(default)s)")
    g.add_argument("--style-size", type=_positive_int, default=512, metavar="PX")
    g.add_argument("--log", default=None, metavar="FILE.json",
                   help="write the settings and the loss of every iteration")
    g.add_argument("--save-maps", action="store_true",
                   help="also write OUT.strength.png and the starting image OUT.init.png")
    g.add_argument("--quality", type=_positive_int, default=95, help="JPEG/WebP quality")
    g.add_argument("--overwrite", action="store_true", help="replace existing output files")
    _add_strength_options(p)
    _add_depth_options(p)
    _add_model_options(p)
    _add_common(p)
    p.set_defaults(func=_cmd_optimize)


# --- export ------------------------------------------------------------------------------------

def _cmd_export(args: argparse.Namespace) -> int:
    from depthstyle.export import export_onnx

    manifest = export_onnx(args.model, args.output, opset=args.opset, overwrite=args.overwrite)
    for entry in manifest["files"].values():
        log.info("wrote %s (sha256 %s)", Path(args.output) / entry["name"], entry["sha256"])
    if not args.quiet:
        print(Path(args.output) / "manifest.json")
    return EXIT_OK


def _add_export(sub) -> None:
    from depthstyle.export.onnx_export import DEFAULT_OPSET

    p = sub.add_parser(
        "export", help="export the model to ONNX (encoder+AdaIN+decoder and strength transform)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write three ONNX graphs with dynamic image size (style statistics; "
                    "encoder + AdaIN + decoder; the proximity-to-strength transform) and a "
                    "manifest.json with their sha256. Run them with `depthstyle stylize "
                    "--backend onnxruntime --onnx-dir DIR` or any ONNX runtime.",
        epilog="examples:\n  depthstyle export --format onnx -o export/lite0\n"
               "  depthstyle stylize photo.jpg -s painting.jpg -o out.png "
               "--backend onnxruntime --onnx-dir export/lite0")
    p.add_argument("--format", choices=("onnx",), default="onnx", help="export format")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to write")
    p.add_argument("--opset", type=_positive_int, default=DEFAULT_OPSET,
                   help="ONNX opset (default: %(default)s)")
    p.add_argument("--model", default="depthstyle-lite0", metavar="NAME|FILE",
                   help="model to export (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing export")
    _add_common(p)
    p.set_defaults(func=_cmd_export)


# --- serve -------------------------------------------------------------------------------------

def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from depthstyle.web import WebConfig, create_app
    except ImportError as exc:
        raise DepthStyleError(f"the web app needs the 'web' extra ({exc.name} is missing): "
                              "pip install 'depthstyle[web]'") from None
    from depthstyle.depth import load_transformers_depth

    config = WebConfig(max_upload_mb=args.max_upload_mb, max_pixels=args.max_pixels,
                       max_side=args.max_side, preview_side=args.preview_side,
                       workers=args.workers, queue=args.queue, timeout_s=args.timeout)
    config.validate()
    stylizer = _make_stylizer(args, tile_size=2048)
    depth_model = None
    if args.depth_model != "none":
        try:
            depth_model = load_transformers_depth(args.depth_model, device=stylizer.device,
                                                  resolution=args.depth_resolution)
        except DepthStyleError as exc:
            if args.depth_model_required:
                raise
            log.warning("no depth model (%s); uploads without a depth map get uniform "
                        "strength", str(exc).splitlines()[0])
    app = create_app(stylizer, config, depth_model=depth_model,
                     depth_model_name=args.depth_model if depth_model is not None else None)
    log.info("serving %s on http://%s:%d (Ctrl+C stops)", stylizer.model_name, args.host,
             args.port)
    uvicorn.run(app, host=args.host, port=args.port,
                log_level="error" if args.quiet else "info" if args.verbose else "warning")
    return EXIT_OK


def _add_serve(sub) -> None:
    from depthstyle.depth import DEFAULT_DEPTH_MODEL
    from depthstyle.io import DEFAULT_MAX_PIXELS

    p = sub.add_parser(
        "serve", help="web app and HTTP API (browser page, JSON API, OpenAPI at /docs)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Start the web app: open the printed address in a browser, pick or upload "
                    "a photo and a painting, move the sliders, download the result. The same "
                    "server answers the JSON API documented at /docs.",
        epilog="examples:\n  depthstyle serve                       # http://127.0.0.1:8000\n"
               "  depthstyle serve --port 8080 --workers 2 --queue 16\n"
               "  depthstyle serve --depth-model ./depth-anything-v2-small   # local model\n\n"
               "The server listens on 127.0.0.1 only unless --host says otherwise; it has no "
               "authentication, so think twice before --host 0.0.0.0.")
    g = p.add_argument_group("server")
    g.add_argument("--host", default="127.0.0.1", help="address to listen on (default: "
                   "%(default)s, this machine only)")
    g.add_argument("--port", type=_positive_int, default=8000, help="port (default: %(default)s)")
    g.add_argument("--workers", type=_positive_int, default=1,
                   help="stylizations running at once (default: %(default)s)")
    g.add_argument("--queue", type=int, default=8,
                   help="requests that may wait; more get 503 (default: %(default)s)")
    g.add_argument("--timeout", type=_positive_float, default=120.0, metavar="S",
                   help="seconds per request, waiting included; slower ones get 503 "
                        "(default: %(default)s)")
    g.add_argument("--max-upload-mb", type=_positive_float, default=20.0, metavar="MB",
                   help="largest request body (default: %(default)s)")
    g.add_argument("--max-pixels", type=_positive_int, default=min(DEFAULT_MAX_PIXELS,
                                                                   25_000_000),
                   help="largest uploaded image in pixels (default: %(default)s)")
    g.add_argument("--max-side", type=_positive_int, default=2048, metavar="PX",
                   help="largest output side a request may ask for (default: %(default)s)")
    g.add_argument("--preview-side", type=_positive_int, default=320, metavar="PX",
                   help="output side of the live preview (default: %(default)s)")
    _add_model_options(p)
    _add_backend_options(p)
    g = p.add_argument_group("depth")
    g.add_argument("--depth-model", default=DEFAULT_DEPTH_MODEL, metavar="ID|DIR|none",
                   help="depth model for uploads without a depth map, loaded from local files "
                        "(default: %(default)s if present; 'none' = never)")
    g.add_argument("--depth-model-required", action="store_true",
                   help="fail instead of serving without a depth model")
    g.add_argument("--depth-resolution", type=_positive_int, default=None, metavar="PX",
                   help="input size of the depth model (smaller = faster)")
    _add_common(p)
    p.set_defaults(func=_cmd_serve)


# --- entry point -------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with all subcommands."""
    parser = argparse.ArgumentParser(
        prog="depthstyle",
        description="Depth-aware arbitrary style transfer: AdaIN whose strength follows the "
                    "scene's depth, so near objects stay recognisable.",
        epilog="run `depthstyle COMMAND --help` for the options of each command")
    from depthstyle import __version__

    parser.add_argument("--version", action="version", version=f"depthstyle {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_stylize(sub)
    p = sub.add_parser("info", help="versions, device, available models")
    _add_common(p)
    p.set_defaults(func=_cmd_info)
    p = sub.add_parser("weights", help="list, download, verify or locate model weights")
    p.add_argument("action", choices=("list", "download", "verify", "path"))
    p.add_argument("name", nargs="?", help="model name (default: all)")
    _add_common(p)
    p.set_defaults(func=_cmd_weights)
    _add_train(sub)
    _add_eval(sub)
    _add_video(sub)
    _add_serve(sub)
    _add_export(sub)
    _add_optimize(sub)
    return parser


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else logging.DEBUG if verbose > 1 else \
        logging.INFO if verbose == 1 else logging.WARNING
    logging.basicConfig(level=level, format="depthstyle: %(levelname)s: %(message)s",
                        stream=sys.stderr, force=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    _setup_logging(args.verbose, args.quiet)
    if args.command in ("train", "serve", "export", "optimize") and not args.quiet:
        logging.getLogger("depthstyle").setLevel(logging.INFO)
    try:
        return args.func(args)
    except SettingsError as exc:
        print(f"depthstyle: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DepthStyleError as exc:
        print(f"depthstyle: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("depthstyle: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
