"""``depthstyle stylize``: images and folders, one or several styles, masks."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from depthstyle.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    add_backend_options,
    add_common,
    add_depth_options,
    add_model_options,
    add_strength_options,
    depth_source_from_args,
    float_list,
    log,
    make_stylizer,
    positive_int,
    settings_from_args,
)
from depthstyle.errors import DepthStyleError, SettingsError
from depthstyle.jobs import check_outputs, expand_inputs, load_masks, map_outputs, plan_outputs

STYLIZE_EXAMPLES = """\
examples:
  depthstyle stylize photo.jpg -s painting.jpg -o out.png
  depthstyle stylize photo.jpg -s painting.jpg -o out.png --depth photo_depth.png --save-maps
  depthstyle stylize examples/books.jpg -s painting.jpg -o out.png  # uses books.disparity.png
  depthstyle stylize photos/ -s a.jpg -s b.jpg -o results/          # every photo x every style
  depthstyle stylize photo.jpg -s a.jpg -s b.jpg --style-weights 0.7,0.3 -o mix.png
  depthstyle stylize photo.jpg -s a.jpg -s b.jpg --mask mask.png -o regions.png
  depthstyle stylize photo.jpg -s painting.jpg --depth auto --offset 0.3 --contrast 20 -o out.png
  depthstyle stylize photo.jpg -s painting.jpg --depth none --alpha 0.6 -o plain_adain.png

depth (--depth auto, the default, tries in this order): a map beside the photo
(<stem>.depth.png or <stem>.disparity.png; also .npy .pfm .tif), the depth model
Depth Anything V2 Small (needs 'transformers'; found on disk or downloaded once into the
cache unless DEPTHSTYLE_OFFLINE=1 or HF_HUB_OFFLINE=1), else uniform strength with a
warning. One line per photo says which source gave its depth. --depth FILE or DIR (maps
named <content-stem>.depth.png, .png, .npy, .pfm) gives the maps; a name containing
"disparity" is read as disparity (override with --depth-kind). --depth none: plain AdaIN.
"""


# --- stylize -----------------------------------------------------------------------------------













progress_log = logging.getLogger("depthstyle.progress")


def _cmd_stylize(args: argparse.Namespace) -> int:
    import torch
    from tqdm.auto import tqdm

    from depthstyle.depth import DepthMapFile, find_depth_file
    from depthstyle.io import load_image_with_alpha, save_image

    settings = settings_from_args(args, preserve_color=args.preserve_color,
                         style_weights=args.style_weights, content_size=args.content_size,
                         style_size=args.style_size, crop=args.crop)
    contents = expand_inputs(args.content)
    styles = expand_inputs(args.style)
    combine = bool(args.style_weights) or bool(args.mask)
    if args.style_weights and len(args.style_weights) != len(styles):
        raise SettingsError(f"--style-weights has {len(args.style_weights)} values for "
                            f"{len(styles)} styles")
    jobs = plan_outputs(contents, styles, Path(args.output), args.format, combine)
    check_outputs([p for _, _, o in jobs for p in [o, *(map_outputs(o) if args.save_maps
                                                         else [])]], args.overwrite)
    depth_dir = None
    if args.depth not in ("none", "auto") and Path(args.depth).is_dir():
        depth_dir = Path(args.depth)
    if depth_dir is None and args.depth not in ("none", "auto") and len(contents) > 1:
        raise SettingsError("--depth FILE applies to one content image; for several give a "
                            "folder of maps named after the contents, or --depth auto")
    default_depth = None
    if depth_dir is None:
        default_depth = depth_source_from_args(args)
    if args.backend == "onnxruntime" and args.mask:
        raise SettingsError("--mask is not supported with --backend onnxruntime")
    stylizer = make_stylizer(args, depth=default_depth, tile_size=args.tile or None)
    stylizer.check(settings)
    log.info("%s on %s (%s); %d job(s)", args.model, stylizer.device, args.backend, len(jobs))

    # with masks all styles form one group, so the masks are the same for every job
    masks = load_masks(args.mask, len(styles)) if args.mask else None
    failures: list[str] = []
    bar = tqdm(jobs, desc="stylize", unit="img", disable=None if len(jobs) > 1 else True)
    # without a terminal (logs, CI) the bar is off: say how far the batch is every 10 %
    every = max(1, len(jobs) // 10) if bar.disable and len(jobs) > 1 else 0
    for i, (content, group, out) in enumerate(bar):
        if every and i and i % every == 0:
            progress_log.info("%d of %d done (%d %%)", i, len(jobs), 100 * i // len(jobs))
        try:
            rgb, alpha = load_image_with_alpha(content, max_pixels=args.max_pixels)
            if alpha is not None and args.alpha_mode == "composite":
                rgb, alpha = rgb * alpha + (1 - alpha), None
            if depth_dir is not None:
                dfile = find_depth_file(depth_dir, content.stem)
                if dfile is None:
                    raise DepthStyleError(f"{content}: no depth map named {content.stem}.* in "
                                          f"{depth_dir}")
                depth = DepthMapFile(dfile, args.depth_kind)
            else:  # --depth auto looks beside the photo first
                depth = stylizer.depth_source(content)
            result = stylizer(rgb, group, settings, depth=depth, masks=masks,
                              name=content.name)
            if alpha is not None:
                alpha = torch.nn.functional.interpolate(alpha, size=result.image.shape[-2:],
                                                        mode="bilinear", align_corners=False)
            save_image(result.image, out, overwrite=args.overwrite, alpha=alpha,
                       quality=args.quality)
            if args.save_maps:
                for path, m in zip(map_outputs(out), (result.proximity, result.strength),
                                   strict=True):
                    save_image(m.expand(-1, 3, -1, -1), path, overwrite=args.overwrite)
            log.info("wrote %s", out)
        except (DepthStyleError, ValueError, OSError) as exc:
            msg = str(exc) if str(content) in str(exc) else f"{content}: {exc}"
            failures.append(msg)
            log.error("%s", msg)
    if failures:
        if len(failures) == len(jobs):
            log.error("%s failed; nothing was written", "the job" if len(jobs) == 1 else
                      f"all {len(jobs)} jobs")
        else:
            log.error("%d of %d jobs failed; the other %d outputs were written", len(failures),
                      len(jobs), len(jobs) - len(failures))
        return EXIT_ERROR
    if not args.quiet and len(jobs) == 1:
        print(jobs[0][2])
    return EXIT_OK


def add_parser(sub) -> None:
    """Add the ``stylize`` subcommand."""
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
    p.add_argument("--style-weights", type=float_list, default=None, metavar="W1,W2",
                   help="interpolate the styles into one with these weights")
    p.add_argument("--mask", action="append", metavar="MASK",
                   help="spatial control: one mask per style (white = that style), or one mask "
                        "for two styles (white = first, black = second)")
    p.add_argument("--preserve-color", choices=("luminance", "histogram"), default=None,
                   help="keep the content's colours: luminance-only transfer, or recolour the "
                        "style to the content's colour statistics")
    p.add_argument("--content-size", type=positive_int, default=512, metavar="PX",
                   help="shrink the content so its longer side is at most PX (default: 512)")
    p.add_argument("--style-size", type=positive_int, default=512, metavar="PX",
                   help="shrink styles so their longer side is at most PX (default: 512)")
    p.add_argument("--crop", action="store_true", help="centre-crop the content to a square")
    p.add_argument("--save-maps", action="store_true",
                   help="also write OUT.proximity.png and OUT.strength.png")
    p.add_argument("--format", default="png", choices=("png", "jpg", "webp", "tif"),
                   help="file type in an output folder (default: png)")
    p.add_argument("--quality", type=positive_int, default=95, help="JPEG/WebP quality")
    p.add_argument("--alpha-mode", choices=("composite", "keep"), default="composite",
                   help="transparent inputs: composite over white (default) or keep the alpha "
                        "channel in the output (PNG/WebP/TIFF)")
    p.add_argument("--max-pixels", type=positive_int, default=DEFAULT_MAX_PIXELS,
                   help="refuse larger images (default: %(default)s)")
    p.add_argument("--tile", type=int, default=2048, metavar="PX",
                   help="process contents larger than PX in PX tiles with whole-image statistics "
                        "(bounded memory, no seams); 0 = never (default: 2048)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    add_strength_options(p)
    add_depth_options(p)
    add_model_options(p)
    add_backend_options(p)
    add_common(p)
    p.set_defaults(func=_cmd_stylize)
