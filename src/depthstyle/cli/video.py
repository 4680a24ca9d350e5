"""``depthstyle video``: a clip with temporal smoothing."""

from __future__ import annotations

import argparse

from depthstyle.cli.common import (
    EXIT_OK,
    add_common,
    add_depth_options,
    add_model_options,
    add_ray_options,
    add_strength_options,
    check_output,
    depth_source_from_args,
    log,
    positive_int,
    resolve_device,
    settings_from_args,
    stylizer_spec,
)
from depthstyle.errors import SettingsError
from depthstyle.jobs import expand_inputs
from depthstyle.video.segments import DEFAULT_WARMUP
from depthstyle.video.stylize import VideoSettings

# --- video -------------------------------------------------------------------------------------

def _cmd_video(args: argparse.Namespace) -> int:
    import json

    from depthstyle.pipeline import Stylizer
    from depthstyle.video import stylize_video

    settings = settings_from_args(args, style_size=args.style_size,
                                  preserve_color=args.preserve_color)
    vs = VideoSettings(size=args.size, codec=args.codec, crf=args.crf,
                       depth_every=args.depth_every,
                       depth_momentum=0.0 if args.no_smoothing else args.depth_momentum,
                       output_smoothing=0.0 if args.no_smoothing else args.output_smoothing,
                       change_tau=args.change_tau, max_frames=args.max_frames)
    vs.validate()
    if args.codec:  # before any work
        from depthstyle.video.stylize import check_codec

        check_codec(args.codec)
    out = check_output(args.output, args.overwrite)
    from depthstyle.video.stylize import open_video

    open_video(args.input)[0].close()  # a missing or unreadable clip fails before any work
    styles = expand_inputs(args.style)
    style = styles if len(styles) > 1 else styles[0]
    if args.engine == "ray":
        report = _video_on_ray(args, out, style, settings, vs)
    else:
        if args.segments:
            raise SettingsError("--segments splits the clip for --engine ray")
        device = resolve_device(args.device)
        depth = depth_source_from_args(args, device)
        stylizer = Stylizer(args.model, device=args.device, half=args.half)
        report = stylize_video(args.input, out, stylizer, style, settings, vs, depth=depth,
                               overwrite=args.overwrite, progress=not args.quiet)
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


def _video_on_ray(args, out, style, settings, vs):
    """Segments of the clip as Ray tasks (docs/scaling.md), joined here."""
    import logging

    from depthstyle.ray_batch import RayOptions, cluster, plan_pool, run_tasks
    from depthstyle.video.segments import frame_factory, stylize_video_segments

    settings.validate()
    options = RayOptions(address=args.ray_address, cpus_per_actor=args.cpus_per_actor)
    spec = stylizer_spec(args, tile_size=2048)
    ray, started = cluster(options)
    try:
        # default: one segment per task the cluster runs at once
        segments = args.segments or plan_pool(ray.cluster_resources(), 10**6, options,
                                              args.device).actors
        report, parts = stylize_video_segments(
            args.input, out, frame_factory(spec, style, settings, vs), vs, segments=segments,
            warmup=args.warmup, overwrite=args.overwrite,
            run=lambda fn, items: run_tasks(fn, items, options, device=args.device))
    finally:
        if started:
            ray.shutdown()
    video_log = logging.getLogger("depthstyle.video")
    for r in parts:
        video_log.info("segment %d: frames %d-%d on %s in %.1f s%s", r["index"], r["start"],
                       r["end"] - 1, r["worker"], r["seconds"],
                       "" if r["border_td_output"] is None else
                       f"; change across its first border {r['border_td_output']:.4f}")
    return report


def add_parser(sub) -> None:
    """Add the ``video`` subcommand."""
    p = sub.add_parser(
        "video", help="stylize a video clip (keeps audio, reduces flicker)",
        description="Stylize a video frame by frame with temporal smoothing of the depth and "
                    "strength maps and of the output (static regions keep the previous "
                    "output). Frame rate, duration and the audio track are kept.",
        epilog="examples:\n  depthstyle video clip.mp4 -s painting.jpg -o clip_styled.mp4\n"
               "  depthstyle video clip.mp4 -s painting.jpg -o raw.mp4 --no-smoothing\n"
               "  depthstyle video clip.mp4 -s painting.jpg --depth auto --depth-every 4 "
               "-o deep.mp4\n"
               "  depthstyle video long.mp4 -s painting.jpg -o out.mp4 --engine ray "
               "--ray-address auto  # segments in parallel",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="input video (any format FFmpeg reads)")
    p.add_argument("-s", "--style", action="append", required=True, help="style image")
    p.add_argument("-o", "--output", required=True, help="output .mp4, .mov, .mkv or .webm")
    p.add_argument("--size", type=positive_int, default=None,
                   help="longer side of the output frames (default: the input's)")
    p.add_argument("--style-size", type=positive_int, default=512,
                   help="the style image's longer side before encoding (default: %(default)s)")
    p.add_argument("--codec", default=None, help="video codec (default: libx264; VP9 for .webm)")
    p.add_argument("--crf", type=int, default=20, help="quality, lower = better (default 20)")
    p.add_argument("--preserve-color", choices=("luminance", "histogram"), default=None,
                   help="keep the frames' colours: luminance (style only in brightness) or "
                        "histogram (the style recoloured to the frame)")
    p.add_argument("--depth-every", type=positive_int, default=1,
                   help="estimate depth every K frames (default 1)")
    p.add_argument("--depth-momentum", type=float, default=VideoSettings.depth_momentum,
                   help="temporal smoothing of depth/strength maps, 0..1 (default %(default)s)")
    p.add_argument("--output-smoothing", type=float, default=VideoSettings.output_smoothing,
                   help="weight of the previous output in static regions, 0..1; higher = less "
                        "flicker, longer trails behind moving things (default %(default)s)")
    p.add_argument("--change-tau", type=float, default=VideoSettings.change_tau,
                   help="luminance change (0..1) from which a pixel counts as moving and is not "
                        "smoothed; lower = fewer trails (default %(default)s)")
    p.add_argument("--no-smoothing", action="store_true", help="turn all smoothing off")
    p.add_argument("--max-frames", type=positive_int, default=None,
                   help="stop after N frames (previews)")
    p.add_argument("--stats", metavar="JSON", help="write frame counts and flicker numbers here")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    add_strength_options(p)
    add_depth_options(p)
    add_model_options(p)
    g = p.add_argument_group("scale-out (docs/scaling.md)")
    g.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local: this process, frame after frame (default); ray: the clip cut "
                        "into segments stylized in parallel on a Ray cluster and joined, the "
                        "temporal smoothing carried across the cuts by a warm-up")
    g.add_argument("--segments", type=positive_int, default=None, metavar="N",
                   help="segments for --engine ray (default: as many as the cluster runs at "
                        "once)")
    g.add_argument("--warmup", type=int, default=DEFAULT_WARMUP, metavar="FRAMES",
                   help="frames each segment runs through the temporal state before its "
                        "first frame (default: %(default)s)")
    add_ray_options(g)
    add_common(p)
    p.set_defaults(func=_cmd_video)
