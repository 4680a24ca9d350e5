"""Video: flicker with temporal smoothing on and off, and throughput, on the shared clip.

For ../shared/video/cutBunny.mp4 (or --input) the clip is stylized twice with the bundled model,
uniform strength (no depth model is available offline): once with all smoothing off, once with
the defaults (depth/strength momentum 0.6, output smoothing 0.5). Reported per run: frames,
frames per second (decode + stylize + encode), and the flicker ratio = mean temporal luminance
difference of the output / of the input, measured on the written files by
``depthstyle.evaluation.flicker``. ``--texture-match 0`` turns the texture match off
(docs/method.md 5d), to see what it does to flicker.

Run: python benchmarks/bench_video.py --out benchmarks/results/video_cpu.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT.parent / "shared" / "video" / "cutBunny.mp4"


def main() -> None:
    from depthstyle import StyleSettings, Stylizer
    from depthstyle.evaluation.flicker import flicker_ratio
    from depthstyle.video import VideoSettings, stylize_video

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input", type=Path, default=CLIP)
    ap.add_argument("--style", type=Path, default=ROOT / "examples" / "woman_with_hat.jpg")
    ap.add_argument("--model", default="depthstyle-lite0")
    ap.add_argument("--size", type=int, default=None, help="longer side (default: input)")
    ap.add_argument("--keep", type=Path, default=None, help="folder to keep the outputs in")
    ap.add_argument("--texture-match", type=float, default=None, metavar="A",
                    help="the texture match's amount (default: the library's, 1)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    stylizer = Stylizer(args.model, device="cpu")
    extra = {} if args.texture_match is None else {"texture_match": args.texture_match}
    settings = StyleSettings(depth_aware=False, **extra)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for name, vs in (("smoothing off", VideoSettings(size=args.size, depth_momentum=0.0,
                                                         output_smoothing=0.0)),
                         ("smoothing on (defaults)", VideoSettings(size=args.size))):
            dst = folder / f"bunny_{'off' if 'off' in name else 'on'}.mp4"
            report = stylize_video(args.input, dst, stylizer, args.style, settings, vs,
                                   overwrite=True, progress=False).summary()
            measured = flicker_ratio(args.input, dst)
            runs.append({"run": name, **report, "measured": measured})
            print(json.dumps(runs[-1]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"command": " ".join(sys.argv),
                                    "texture_match": settings.texture_match, "runs": runs},
                                   indent=2))


if __name__ == "__main__":
    main()
