"""``depthstyle optimize``: the Gatys-style optimisation baseline."""

from __future__ import annotations

import argparse

from depthstyle.cli.common import (
    EXIT_OK,
    add_common,
    add_depth_options,
    add_model_options,
    add_strength_options,
    check_output,
    depth_source_from_args,
    log,
    nonneg_float,
    positive_float,
    positive_int,
    resolve_device,
    settings_from_args,
)
from depthstyle.errors import SettingsError

# --- optimize ----------------------------------------------------------------------------------

def _cmd_optimize(args: argparse.Namespace) -> int:
    import json

    from depthstyle.depth import differentiable_depth_model
    from depthstyle.io import save_image, write_text
    from depthstyle.optimize import OptimizeConfig, optimize_image
    from depthstyle.pipeline import Stylizer

    settings = settings_from_args(args, content_size=args.content_size, style_size=args.style_size)
    if args.strength == "learned":
        raise SettingsError("optimize weights its losses with one strength map: use --strength "
                            "proximity or uniform")
    config = OptimizeConfig(
        steps=args.steps, optimizer=args.optimizer, lr=args.lr, style_loss=args.style_loss,
        init=args.init, content_weight=args.content_weight, style_weight=args.style_weight,
        patch_weight=args.patch_weight, depth_weight=args.depth_weight, tv_weight=args.tv_weight)
    config.validate()
    out = check_output(args.output, args.overwrite)
    device = resolve_device(args.device)
    depth = depth_source_from_args(args, device)
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


def add_parser(sub) -> None:
    """Add the ``optimize`` subcommand."""
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
               "--style-loss gram --style-weight 1 --tv-weight 0.1\n"
               "  depthstyle optimize photo.jpg -s painting.jpg -o opt.png --init adain "
               "--patch-weight 100")
    p.add_argument("content", help="content image")
    p.add_argument("-s", "--style", required=True, help="style image")
    p.add_argument("-o", "--output", required=True, help="output image file")
    g = p.add_argument_group("optimisation")
    g.add_argument("--steps", type=positive_int, default=100,
                   help="iterations (default: %(default)s)")
    g.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs",
                   help="L-BFGS with line search (default) or Adam")
    g.add_argument("--lr", type=positive_float, default=None,
                   help="step size (default: 1 for L-BFGS, 0.05 for Adam)")
    g.add_argument("--style-loss", choices=("meanstd", "gram"), default="meanstd",
                   help="style statistics: channel mean/std (AdaIN's) or Gram matrices (Gatys)")
    g.add_argument("--init", choices=("content", "adain"), default="content",
                   help="start from the content or from the feed-forward output")
    g.add_argument("--content-weight", type=nonneg_float, default=1.0, metavar="W",
                   help="weight of the content loss (default: %(default)s)")
    g.add_argument("--style-weight", type=nonneg_float, default=10.0, metavar="W",
                   help="weight of the strength-weighted style loss (default: %(default)s)")
    g.add_argument("--patch-weight", type=nonneg_float, default=0.0, metavar="W",
                   help="sliced Wasserstein distance between the output's and the painting's "
                        "own 5x5 pixel patches (the painting's strokes, no network), times W "
                        "and the mean strength; e.g. 100 (default: 0, off)")
    g.add_argument("--tv-weight", type=nonneg_float, default=0.0, metavar="W",
                   help="total-variation weight (smoother output)")
    g.add_argument("--depth-weight", type=nonneg_float, default=0.0, metavar="W",
                   help="depth-preservation weight (Liu et al. 2017); needs the depth model "
                        "given by --depth-model")
    g.add_argument("--content-size", type=positive_int, default=384, metavar="PX",
                   help="longer side of the content (default: %(default)s)")
    g.add_argument("--style-size", type=positive_int, default=512, metavar="PX",
                   help="the style image's longer side (default: %(default)s)")
    g.add_argument("--log", default=None, metavar="FILE.json",
                   help="write the settings and the loss of every iteration")
    g.add_argument("--save-maps", action="store_true",
                   help="also write OUT.strength.png and the starting image OUT.init.png")
    g.add_argument("--quality", type=positive_int, default=95, help="JPEG/WebP quality")
    g.add_argument("--overwrite", action="store_true", help="replace existing output files")
    add_strength_options(p)
    add_depth_options(p)
    add_model_options(p)
    add_common(p)
    p.set_defaults(func=_cmd_optimize)
