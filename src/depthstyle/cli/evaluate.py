"""``depthstyle eval``: the method sweep, model quality, video flicker."""

from __future__ import annotations

import argparse
from pathlib import Path

from depthstyle.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    add_common,
    add_depth_options,
    add_model_options,
    depth_source_from_args,
    float_list,
    positive_int,
    resolve_device,
    unit_float,
)
from depthstyle.errors import SettingsError
from depthstyle.jobs import expand_inputs
from depthstyle.texture import DEFAULT_TEXTURE_MATCH

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
    import math

    from depthstyle.evaluation.quality import model_quality
    from depthstyle.evaluation.runner import loss_network_for
    from depthstyle.io import write_text
    from depthstyle.pipeline import Stylizer

    contents, styles = expand_inputs(args.content), expand_inputs(args.style)
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
                                  loss_net=loss_net, progress=not args.quiet,
                                  texture_match=args.texture_match)
    summary = {"model": stylizer.model_name, "loss_network": loss_name, "size": args.size,
               "texture_match": args.texture_match,
               "contents": len(contents), "styles": len(styles), **summary}
    out = Path(args.output)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=keys)
    writer.writeheader()
    writer.writerows(rows)
    write_text(out / "quality.csv", buf.getvalue(), overwrite=True)
    # strict JSON: an exact reconstruction's PSNR (inf) is written as the string "inf"
    text = json.dumps({k: str(v) if isinstance(v, float) and math.isinf(v) else v
                       for k, v in summary.items()}, indent=2)
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
    from depthstyle.depth import load_transformers_depth
    from depthstyle.evaluation.report import write_report
    from depthstyle.evaluation.runner import Evaluator, default_sweep, find_items
    from depthstyle.pipeline import Stylizer

    rules = []
    for rule in args.gt_kind_rule or []:
        prefix, _, kind = rule.partition(":")
        if kind not in ("depth", "disparity") or not prefix:
            raise SettingsError(f"--gt-kind-rule takes PREFIX:depth|disparity, got {rule!r}")
        rules.append((prefix, kind))
    items = find_items(expand_inputs(args.content), Path(args.gt_dir) if args.gt_dir else None,
                       args.gt_kind, rules)
    styles = expand_inputs(args.style)
    levels = [tuple(x for x in group.split(",") if x) for group in args.levels] \
        if args.levels else [()]
    if args.optimize_steps < 0:
        raise SettingsError("--optimize-steps must be >= 0")
    sweep = default_sweep(args.alphas, args.offsets, args.contrasts, levels,
                          learned=args.learned, optimize_steps=args.optimize_steps)
    device = resolve_device(args.device)
    depth = depth_source_from_args(args, device)
    depth_model = load_transformers_depth(args.measure_depth_model, device=device) \
        if args.measure_depth_model else None
    stylizer = Stylizer(args.model, depth=depth, device=args.device)
    for s in sweep:
        stylizer.check(s.settings(None))
    evaluator = Evaluator(stylizer, size=args.size, depth=depth, depth_model=depth_model,
                          thumbs=not args.no_images, detail=args.detail)
    rows, failures = evaluator.run(items, styles, sweep, args.output, progress=not args.quiet)
    n_gt = sum(1 for i in items if i.gt is not None)
    notes = [
        f"model: {stylizer.model_name}; content size {args.size}px; styles at 512px; "
        f"detail {args.detail}"
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


def add_parser(sub) -> None:
    """Add the ``eval`` subcommand."""
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
    p.add_argument("--max-frames", type=positive_int, default=None,
                   help="with --video: read at most this many frames")
    p.add_argument("--gt-dir", help="folder with ground-truth maps named <content-stem>.depth.png")
    p.add_argument("--gt-kind", choices=("depth", "disparity"), default="depth",
                   help="how to read the ground-truth maps (default: %(default)s)")
    p.add_argument("--gt-kind-rule", action="append", metavar="PREFIX:KIND",
                   help="ground-truth kind for contents whose name starts with PREFIX")
    p.add_argument("--alphas", type=float_list, default=(0.2, 0.4, 0.6, 0.8, 1.0),
                   help="uniform strengths of the reference curve, comma-separated "
                        "(default: 0.2,0.4,0.6,0.8,1)")
    p.add_argument("--offsets", type=float_list, default=(0.0, 0.2, 0.4),
                   help="depth-aware offsets to sweep, comma-separated (default: 0,0.2,0.4)")
    p.add_argument("--contrasts", type=float_list, default=(5.0, 10.0, 20.0),
                   help="depth-aware contrasts to sweep, comma-separated (default: 5,10,20)")
    p.add_argument("--levels", action="append", metavar="L1,L2",
                   help="level set for the depth-aware points (repeat for several)")
    p.add_argument("--size", type=positive_int, default=384, help="content size (default 384)")
    p.add_argument("--detail", choices=("blend", "residual", "off"), default="blend",
                   help="how the photo comes back where strength is low (docs/method.md 5b; "
                        "default blend)")
    p.add_argument("--measure-depth-model", metavar="ID|DIR",
                   help="depth model that measures the depth of outputs (transformers)")
    p.add_argument("--no-images", action="store_true", help="do not write thumbnails")
    p.add_argument("--learned", action="store_true",
                   help="also evaluate the model's learned strength module at every "
                        "offset/contrast point")
    g = p.add_argument_group("model quality (--quality; docs/metrics.md)")
    g.add_argument("--quality", action="store_true",
                   help="measure the model instead of the method: reconstruction at strength 0 "
                        "(PSNR, SSIM, by the decoder alone and as output by default), border "
                        "bands, and style specificity over every style pair; writes "
                        "quality.csv/json")
    g.add_argument("--split", metavar="SPLIT.json",
                   help="keep only the contents and styles named in this split file "
                        "(e.g. benchmarks/validation-split.json)")
    g.add_argument("--specificity-contents", type=positive_int, default=20, metavar="N",
                   help="how many contents get every style for specificity (default: 20)")
    g.add_argument("--texture-match", type=unit_float, default=DEFAULT_TEXTURE_MATCH,
                   metavar="A", help="the texture match of the measured outputs (docs/method.md "
                   "5d; default %(default)s, as stylize; 0 measures the decoder's texture alone)")
    p.add_argument("--optimize-steps", type=int, default=0, metavar="N",
                   help="also run the optimisation baseline (N L-BFGS iterations, uniform and "
                        "depth-aware, alpha 1) as the quality ceiling; slow (default: off)")
    add_depth_options(p)
    add_model_options(p)
    add_common(p)
    p.set_defaults(func=_cmd_eval)
