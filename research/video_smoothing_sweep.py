"""Output smoothing for video: flicker against lag, per model, over weights and thresholds.

Each frame of the clip (../shared/video/cutBunny.mp4 by default) is stylized once per model with
smoothing off (uniform strength: no depth model offline, so ``--depth-momentum`` plays no part),
kept in memory, and ``depthstyle.video.temporal.blend_previous`` is replayed over those frames
for every (output smoothing weight, change threshold tau) pair, exactly as ``depthstyle video``
applies it. Reported per pair:

* flicker ratio: mean temporal luminance difference of the output / of the input (in memory);
* lag: :func:`~depthstyle.video.temporal.smoothing_lag`, the mean luminance difference between
  the smoothed and the unsmoothed output in the pixels where the input moved (change mask with
  the reference tau 0.04, whatever tau the smoothing used), averaged over frames; 0 = no trail.

``--noise SIGMA`` adds Gaussian noise of that standard deviation (seeded, independent per frame)
to the decoded frames first, a stand-in for a camera's sensor noise: the change mask must tell
noise from motion, so a tight threshold smooths noisy footage less.

Run: python research/video_smoothing_sweep.py --out benchmarks/results/video_smoothing.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT.parent / "shared" / "video" / "cutBunny.mp4"


def replay(frames, raw, weight: float, tau: float) -> dict:
    from depthstyle.video.temporal import blend_previous, smoothing_lag, temporal_difference

    prev_out = None
    td_in, td_out, lags = [], [], []
    for i, (frame, stylized) in enumerate(zip(frames, raw, strict=True)):
        prev_frame = frames[i - 1] if i else None
        out = blend_previous(stylized, prev_out, frame, prev_frame, weight, tau)
        if prev_frame is not None:
            td_in.append(temporal_difference(prev_frame, frame))
            td_out.append(temporal_difference(prev_out, out))
            lags.append(smoothing_lag(out, stylized, frame, prev_frame))
        prev_out = out
    return {"weight": weight, "tau": tau,
            "flicker_ratio": statistics.fmean(td_out) / statistics.fmean(td_in),
            "lag": statistics.fmean(lags), "lag_p90": sorted(lags)[int(0.9 * len(lags))]}


def main() -> None:
    from tqdm.auto import tqdm

    from depthstyle import StyleSettings, Stylizer
    from depthstyle.video.stylize import iter_frames

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input", type=Path, default=CLIP)
    ap.add_argument("--style", type=Path, default=ROOT / "examples" / "woman_with_hat.jpg")
    ap.add_argument("--models", nargs="+", default=["depthstyle-lite0-v1", "depthstyle-lite0"])
    ap.add_argument("--frames", type=int, default=240)
    ap.add_argument("--weights", default="0,0.5,0.6,0.7,0.8,0.9")
    ap.add_argument("--taus", default="0.02,0.04,0.06")
    ap.add_argument("--noise", type=float, default=0.0,
                    help="standard deviation of Gaussian noise added to every frame (0-1 scale)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    frames = list(iter_frames(args.input, args.frames))
    if args.noise > 0:
        gen = torch.Generator().manual_seed(0)
        frames = [(f + args.noise * torch.randn(f.shape, generator=gen)).clamp(0, 1)
                  for f in frames]
    weights = [float(w) for w in args.weights.split(",")]
    taus = [float(t) for t in args.taus.split(",")]
    settings = StyleSettings(depth_aware=False, content_size=None)
    rows = []
    for model in args.models:
        stylizer = Stylizer(model, device="cpu", depth=None)
        raw = [stylizer(f, args.style, settings).image
               for f in tqdm(frames, desc=model, disable=None)]
        for tau in taus:
            for weight in weights:
                if weight == 0 and tau != taus[0]:
                    continue  # off is off whatever the threshold
                row = {"model": model, **replay(frames, raw, weight, tau)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"command": " ".join(sys.argv), "clip": str(args.input),
                                    "noise": args.noise, "frames": len(frames), "rows": rows},
                                   indent=1))


if __name__ == "__main__":
    main()
