"""Segment-parallel video: the seam against the warm-up, and the wall time on Ray.

Seams: the bundled model stylizes ``--clip`` once frame after frame and once cut into
``--segments`` segments (run one after another here), both encoded losslessly (x264 QP 0) so
that frame differences are the stylization's alone; for each warm-up length, the mean and
largest absolute difference (0-255) of the frames at the cuts and how many frames after a cut
differ at all. Speed: ``depthstyle video`` with ``--engine local`` against ``--engine ray``
with 2 segments on a local 2-CPU cluster (default encoding), wall time in fresh processes.

Run: python benchmarks/bench_video_segments.py --clip ../shared/video/cutBunny.mp4 \
        --style examples/woman_with_hat.jpg --out benchmarks/results/video_segments_cpu.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def frames_of(path):
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24").astype(np.int16) for f in c.decode(video=0)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", type=Path, required=True)
    ap.add_argument("--style", type=Path, required=True)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--segments", type=int, default=3)
    ap.add_argument("--warmups", type=int, nargs="+", default=[0, 4, 8, 16, 24])
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    from depthstyle.pipeline import StyleSettings, Stylizer
    from depthstyle.video import VideoSettings, stylize_video
    from depthstyle.video.segments import plan_segments, stylize_video_segments
    from depthstyle.video.stylize import FrameStylizer

    st = Stylizer(depth="none")
    settings = StyleSettings(depth_aware=False)
    video = VideoSettings(size=args.size, crf=0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        stylize_video(args.clip, tmp / "one.mkv", st, str(args.style), settings, video,
                      progress=False)
        one = frames_of(tmp / "one.mkv")
        for w in args.warmups:
            stylize_video_segments(
                args.clip, tmp / f"w{w}.mkv",
                lambda: FrameStylizer(st, str(args.style), settings, video, st.depth), video,
                segments=args.segments, warmup=w)
            split = frames_of(tmp / f"w{w}.mkv")
            segs, _ = plan_segments(args.clip, args.segments, w)
            cuts = [s.start for s in segs[1:]]
            diff = [np.abs(a - b) for a, b in zip(one, split, strict=True)]
            at_cut = [float(diff[c].mean()) for c in cuts]
            worst = [int(diff[c].max()) for c in cuts]
            lasting = [next((k for k in range(c, len(diff)) if not diff[k].any()), len(diff)) - c
                       for c in cuts]
            row = {"warmup": w, "mean_abs_at_cut": at_cut, "max_abs_at_cut": worst,
                   "frames_until_identical": lasting,
                   "frames_differing": sum(bool(d.any()) for d in diff)}
            rows.append(row)
            print(row, flush=True)
        timing = {}
        for engine in ("local", "ray"):
            cmd = [sys.executable, "-m", "depthstyle", "video", str(args.clip), "-s",
                   str(args.style), "--size", str(args.size), "--depth", "none", "-q",
                   "-o", str(tmp / f"{engine}.mp4"), "--engine", engine]
            if engine == "ray":
                cmd += ["--segments", "2"]
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            timing[engine] = time.perf_counter() - start
        print(timing)
    if args.out:
        args.out.write_text(json.dumps({"clip": str(args.clip), "frames": len(one),
                                        "size": args.size, "segments": args.segments,
                                        "seams": rows, "wall_s": timing}, indent=2))


if __name__ == "__main__":
    main()
