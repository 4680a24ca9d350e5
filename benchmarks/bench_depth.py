"""Depth-model cost by input resolution (``--depth-resolution``), CPU or GPU.

Times :class:`depthstyle.depth.TransformersDepth` (pre-processing, the network, resizing the
prediction back and normalising) on a 512 x 512 photo, for a model with the Depth Anything V2
Small architecture (ViT-S/14, ``DepthAnythingConfig()`` defaults) and *random weights*: the
published weights cannot be had offline, and the time does not depend on the weight values. The
model's native resolution is 518. Medians of ``--reps`` runs after one warm-up; a second call
on the same photo costs nothing in the pipeline (``AutoDepth`` caches per photo), so these are
the first-call costs.

Run: python benchmarks/bench_depth.py --out benchmarks/results/depth_cpu.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolutions", type=int, nargs="+", default=[196, 266, 392, 518])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--size", type=int, default=512, help="photo side (default: 512)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--half", action="store_true", help="fp16 weights and inputs (GPU)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation

    from depthstyle.depth import TransformersDepth

    torch.manual_seed(0)
    dtype = torch.float16 if args.half else torch.float32
    net = DepthAnythingForDepthEstimation(DepthAnythingConfig()).to(args.device, dtype).eval()
    photo = torch.rand(1, 3, args.size, args.size, device=args.device, dtype=dtype)
    rows = []
    with torch.inference_mode():  # warm every size first: the first large run grows the allocator
        for res in args.resolutions:
            TransformersDepth(net, size=(res, res), multiple=14)(photo)
    for res in args.resolutions:
        depth = TransformersDepth(net, size=(res, res), multiple=14, name="da-v2-small-arch")
        with torch.inference_mode():
            depth(photo)
            times = []
            for _ in range(args.reps):
                if args.device.startswith("cuda"):
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
                depth(photo)
                if args.device.startswith("cuda"):
                    torch.cuda.synchronize()
                times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        rows.append({"resolution": res, "input": list(depth.input_size(args.size, args.size)),
                     "ms": round(med * 1000, 1), "images_per_s": round(1 / med, 2)})
        print(json.dumps(rows[-1]), flush=True)
    meta = {"machine": platform.platform(), "cpu_count": torch.get_num_threads(),
            "torch": torch.__version__, "device": args.device, "dtype": str(dtype),
            "photo": args.size, "command": "benchmarks/bench_depth.py " + " ".join(
                f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
                if k != "out" and v not in (None, False))}
    if args.out:
        args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
