"""Optimisation baseline: time per iteration and loss reduction, bundled model, CPU.

For examples/books.jpg (strength from its ground-truth disparity) and
examples/woman_with_hat.jpg, each configuration runs ``--steps`` iterations. Reported: seconds
per iteration (median over iterations; an L-BFGS iteration includes its line search and the
recorded forward pass), the total loss at the start and the end, and whether it never increased.
The feed-forward time at the same size is given for comparison.

Run: python benchmarks/bench_optimize.py --out benchmarks/results/optimize_cpu.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from depthstyle import DepthMapFile, StyleSettings, Stylizer
    from depthstyle.optimize import OptimizeConfig, optimize_image

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 384])
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    content, style = ROOT / "examples" / "books.jpg", ROOT / "examples" / "woman_with_hat.jpg"
    depth = DepthMapFile(ROOT / "examples" / "books.disparity.png", "disparity")
    stylizer = Stylizer(device="cpu")
    rows = []
    for size in args.sizes:
        settings = StyleSettings(content_size=size)
        stylizer(content, style, settings, depth=depth)
        t = time.perf_counter()
        for _ in range(3):
            stylizer(content, style, settings, depth=depth)
        ff_ms = (time.perf_counter() - t) / 3 * 1000
        for cfg in (OptimizeConfig(steps=args.steps, optimizer="lbfgs"),
                    OptimizeConfig(steps=args.steps, optimizer="lbfgs", init="adain"),
                    OptimizeConfig(steps=args.steps, optimizer="adam"),
                    OptimizeConfig(steps=args.steps, optimizer="lbfgs", style_loss="gram",
                                   style_weight=1.0)):
            r = optimize_image(stylizer, content, style, settings, cfg, depth=depth,
                               progress=False)
            secs = [b["seconds"] - a["seconds"] for a, b in zip(r.history, r.history[1:],
                                                                 strict=False)]
            totals = [h["total"] for h in r.history]
            row = {"size": size, "optimizer": cfg.optimizer, "init": cfg.init,
                   "style_loss": cfg.style_loss, "steps": cfg.steps,
                   "s_per_iteration": round(statistics.median(secs), 3),
                   "total_s": round(r.history[-1]["seconds"], 1),
                   "loss_start": round(totals[0], 4), "loss_end": round(totals[-1], 4),
                   "monotone": all(b <= a * (1 + 1e-6) for a, b in zip(totals, totals[1:],
                                                                       strict=False)),
                   "feedforward_ms": round(ff_ms, 1)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"command": " ".join(sys.argv), "torch": torch.__version__,
                                    "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
