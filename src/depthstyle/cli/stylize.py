"""``depthstyle stylize``: images and folders, one or several styles, masks."""

from __future__ import annotations

import argparse
import itertools
import logging
from pathlib import Path

from depthstyle.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    add_backend_options,
    add_common,
    add_depth_options,
    add_model_options,
    add_ray_options,
    add_strength_options,
    float_list,
    log,
    positive_int,
    settings_from_args,
    stylizer_spec,
)
from depthstyle.errors import SettingsError
from depthstyle.jobs import (
    check_outputs,
    expand_inputs,
    expand_tree,
    load_masks,
    map_outputs,
    plan_outputs,
)

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
  depthstyle stylize imagenet/ -r -s paintings/ --styles-per-image 1 -o out/ --resume
  depthstyle stylize imagenet/ -r -s paintings/ --styles-per-image 1 -o out/ --engine ray

datasets (docs/scaling.md): -r mirrors sub-folders under OUT; --resume (always on with
--engine ray) skips outputs that exist and appends every job to OUT/manifest.jsonl, so a
rerun finishes a stopped run; failed inputs are recorded there and the rest go on.

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


def _spec_and_options(args: argparse.Namespace, settings, masks, depth_dir):
    from depthstyle.batch import JobOptions

    spec = stylizer_spec(args, tile_size=args.tile or None,
                         depth="dir" if depth_dir is not None else args.depth)
    opts = JobOptions(settings=settings, save_maps=args.save_maps, quality=args.quality,
                      alpha_mode=args.alpha_mode, max_pixels=args.max_pixels,
                      overwrite=args.overwrite, resume=args.resume or args.engine == "ray",
                      depth_dir=str(depth_dir) if depth_dir is not None else None,
                      depth_kind=args.depth_kind, masks=masks)
    return spec, opts


def _local_records(jobs, spec, opts, args):
    """The local engine: this process, one job after another."""
    from depthstyle.batch import run_job

    stylizer = spec.build()
    stylizer.check(opts.settings)
    log.info("%s on %s (%s); %d job(s)", args.model, stylizer.device, args.backend, len(jobs))
    for job in jobs:
        record = run_job(stylizer, job, opts)
        if record["status"] == "ok":
            log.info("wrote %s", job.output)
        yield record


def _ray_records(jobs, spec, opts, args):
    from depthstyle.ray_batch import RayOptions, run_on_ray

    # the model's own checks (levels, learned strength) once here, not once per job there
    spec.build(device="cpu").check(opts.settings)
    yield from run_on_ray(jobs, spec, opts, RayOptions(
        address=args.ray_address, actors=args.actors, batch_size=args.batch_size,
        cpus_per_actor=args.cpus_per_actor))


def _cmd_stylize(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from depthstyle.batch import MANIFEST_NAME, Manifest, settings_record, split_done

    settings = settings_from_args(args, preserve_color=args.preserve_color,
                         style_weights=args.style_weights, content_size=args.content_size,
                         style_size=args.style_size, crop=args.crop)
    tree = expand_tree(args.content, recursive=args.recursive)
    contents = [p for p, _ in tree]
    styles = expand_inputs(args.style)
    combine = bool(args.style_weights) or bool(args.mask)
    if args.style_weights and len(args.style_weights) != len(styles):
        raise SettingsError(f"--style-weights has {len(args.style_weights)} values for "
                            f"{len(styles)} styles")
    out = Path(args.output)
    jobs = plan_outputs(contents, styles, out, args.format, combine,
                        places=[place for _, place in tree],
                        styles_per_image=args.styles_per_image, seed=args.seed,
                        name=args.name)
    dataset_run = args.engine == "ray" or args.resume
    if dataset_run and len(jobs) == 1 and out.suffix:
        raise SettingsError(f"--engine ray and --resume write into an output folder (with its "
                            f"{MANIFEST_NAME}); {out} is a file name")
    from depthstyle.io import IMAGE_OUTPUT_SUFFIXES

    bad = sorted({j.output.suffix for j in jobs
                  if j.output.suffix.lower() not in IMAGE_OUTPUT_SUFFIXES})
    if bad:
        raise SettingsError(f"{jobs[0].output if len(jobs) == 1 else out}: unknown output "
                            f"format {bad[0]!r}; use one of "
                            f"{', '.join(sorted(IMAGE_OUTPUT_SUFFIXES))}")
    if not dataset_run:
        check_outputs([p for j in jobs for p in [j.output, *(map_outputs(j.output)
                                                             if args.save_maps else [])]],
                      args.overwrite)
    else:
        check_outputs([out / MANIFEST_NAME], overwrite=True)
    depth_dir = None
    if args.depth not in ("none", "auto") and Path(args.depth).is_dir():
        depth_dir = Path(args.depth)
    if depth_dir is None and args.depth not in ("none", "auto") and len(contents) > 1:
        raise SettingsError("--depth FILE applies to one content image; for several give a "
                            "folder of maps named after the contents, or --depth auto")
    if args.backend == "onnxruntime" and args.mask:
        raise SettingsError("--mask is not supported with --backend onnxruntime")
    if args.engine == "ray" and args.backend != "torch":
        raise SettingsError("--engine ray runs the PyTorch backend; leave out --backend")
    # with masks all styles form one group, so the masks are the same for every job
    masks = load_masks(args.mask, len(styles)) if args.mask else None
    spec, opts = _spec_and_options(args, settings, masks, depth_dir)
    todo, done = split_done(jobs, opts)
    engine = _ray_records if args.engine == "ray" else _local_records
    records = itertools.chain(done, engine(todo, spec, opts, args) if todo else ())
    manifest = Manifest(out / MANIFEST_NAME, settings_record(opts, spec)) if dataset_run \
        else None
    failures: list[str] = []
    counts = {"ok": 0, "skipped": 0, "failed": 0}
    bar = tqdm(total=len(jobs), desc="stylize", unit="img",
               disable=None if len(jobs) > 1 else True)
    # without a terminal (logs, CI) the bar is off: say how far the batch is every 10 %
    every = max(1, len(jobs) // 10) if bar.disable and len(jobs) > 1 else 0
    try:
        for i, record in enumerate(records, 1):
            bar.update(1)
            counts[record["status"]] += 1
            if manifest is not None:
                manifest.append(record)
            if record["status"] == "failed":
                failures.append(record["error"])
                log.error("%s", record["error"])
            if every and i < len(jobs) and i % every == 0:
                progress_log.info("%d of %d done (%d %%)", i, len(jobs), 100 * i // len(jobs))
    finally:
        bar.close()
        if manifest is not None:
            manifest.close()
    if dataset_run:
        progress_log.info("%d written, %d skipped (done before), %d failed; manifest: %s",
                          counts["ok"], counts["skipped"], counts["failed"], out / MANIFEST_NAME)
    if failures:
        if len(failures) == len(jobs):
            log.error("%s failed; nothing was written", "the job" if len(jobs) == 1 else
                      f"all {len(jobs)} jobs")
        else:
            log.error("%d of %d jobs failed; the other %d outputs were written", len(failures),
                      len(jobs), len(jobs) - len(failures))
        return EXIT_ERROR
    if not args.quiet and len(jobs) == 1 and not dataset_run:
        print(jobs[0].output)
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
    p.add_argument("--name", default="{content}_{style}", metavar="TEMPLATE",
                   help="output file names in a folder: {content} and {style} are the stems "
                        "(default: %(default)s; '{content}__{style}' for `depthstyle study`)")
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
    p.add_argument("-r", "--recursive", action="store_true",
                   help="also take the images in sub-folders of a content folder; outputs mirror "
                        "the folders (class folders stay class folders)")
    add_strength_options(p)
    add_depth_options(p)
    add_model_options(p)
    add_backend_options(p)
    add_scale_options(p)
    add_common(p)
    p.set_defaults(func=_cmd_stylize)


def add_scale_options(p: argparse.ArgumentParser) -> None:
    """Dataset runs: engines, resuming, the style draw (docs/scaling.md)."""
    g = p.add_argument_group("datasets and scale-out (docs/scaling.md)")
    g.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local: this process (default); ray: an actor pool on a Ray cluster "
                        "(needs the 'ray' extra). A ray run skips outputs that exist and "
                        "writes OUT/manifest.jsonl")
    g.add_argument("--resume", action="store_true",
                   help="local engine: skip jobs whose output exists and append every job to "
                        "OUT/manifest.jsonl (what --engine ray always does)")
    g.add_argument("--styles-per-image", type=positive_int, default=None, metavar="K",
                   help="give each content K styles drawn at random from the style pool "
                        "instead of every style (the Stylized-ImageNet recipe)")
    g.add_argument("--seed", type=int, default=0,
                   help="seed of the --styles-per-image draw; the same seed draws the same "
                        "styles for the same file (default: 0)")
    add_ray_options(g)
    g.add_argument("--actors", type=positive_int, default=None, metavar="N",
                   help="size of the actor pool (default: one per GPU, else CPUs / "
                        "--cpus-per-actor)")
    g.add_argument("--batch-size", type=positive_int, default=None, metavar="N",
                   help="jobs per actor call (default: from the job count, 1 to 8)")
