"""Stylization speed on a CUDA GPU: fp32 and fp16, batch 1 to 32, 512² by default.

Same work as benchmarks/bench_stylize.py's "ours" row (examples/books.jpg centre-cropped, style
statistics cached, strength computed from the ground-truth disparity on every call, reflect
border, default photo blend, clamping), timed with ``torch.cuda.synchronize()`` around each
call. Host-to-device copies of the content batch are inside the timing (the API takes CPU
tensors); PNG decoding is not. ``--depth-arch`` adds rows where the strength comes from a Depth
Anything V2 Small-shaped model (``transformers``, random weights: timing does not depend on the
weight values; the published weights cannot be had offline) run on every batch at 518 px, in the
same precision as the stylizer: the "depth + stylization" number. ``--baseline`` adds
bench_stylize.py's reference-style baseline (fp32, batch 1, the style encoded on every call, the
content already on the GPU). Also reports the GPU's peak allocated memory and, per precision,
the largest |GPU - CPU fp32| on one 512² image.

Run (on a machine with CUDA): python benchmarks/bench_gpu.py --out benchmarks/results/gpu.json
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch
from bench_stylize import (
    CONTENT,
    STYLE,
    depth_arch_model,
    example_proximity,
    median_seconds,
    reference_stylize,
)

from depthstyle import StyleSettings, Stylizer, load_image
from depthstyle.io import square_crop


def depth_arch(half: bool):
    """bench_stylize.py's Depth Anything V2 Small-shaped source on the GPU, its network in
    the stylizer's precision."""
    source = depth_arch_model()
    if half:
        source.model.half()
    return source.cuda()


def time_config(model: str, size: int, batch: int, half: bool, reps: int,
                depth_kind: str = "gt") -> dict:
    content = square_crop(load_image(CONTENT), size).expand(batch, -1, -1, -1).contiguous()
    depth = example_proximity(size).expand(batch, -1, -1, -1).contiguous()
    style = load_image(STYLE)
    settings = StyleSettings(content_size=None, style_size=512)
    source = depth_arch(half) if depth_kind == "da-arch" else None
    stylizer = Stylizer(model, device="cuda", depth=source, half=half)
    given = None if depth_kind == "da-arch" else depth

    def call():
        out = stylizer(content, style, settings, depth=given).image
        torch.cuda.synchronize()
        return out

    for _ in range(3):  # warm-up: cuDNN autotuning, style cache
        call()
    torch.cuda.reset_peak_memory_stats()
    med = median_seconds(call, reps, warmup=0)
    return {"model": model, "size": size, "batch": batch, "half": half, "depth": depth_kind,
            "reps": reps,
            "median_s": med, "images_per_s": batch / med, "ms_per_image": med / batch * 1e3,
            "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20}


def time_baseline(model: str, size: int, reps: int) -> dict:
    """bench_stylize.py's baseline on the GPU: fp32, eager, the style encoded on every call."""
    from depthstyle.models import load_model

    m = load_model(model).cuda().eval()
    content = square_crop(load_image(CONTENT), size).cuda()
    style = square_crop(load_image(STYLE), 512).cuda()

    def call():
        out = reference_stylize(m, content, style)
        torch.cuda.synchronize()
        return out

    med = median_seconds(call, reps, warmup=3)
    return {"model": model, "size": size, "batch": 1, "half": False, "mode": "baseline",
            "reps": reps, "median_s": med, "images_per_s": 1 / med, "ms_per_image": med * 1e3}


def parity(model: str, size: int) -> dict:
    content = square_crop(load_image(CONTENT), size)
    depth = example_proximity(size)
    style = load_image(STYLE)
    settings = StyleSettings(content_size=None, style_size=512)
    ref = Stylizer(model, device="cpu", depth=None)(content, style, settings, depth=depth).image
    out = {}
    for half in (False, True):
        got = Stylizer(model, device="cuda", depth=None, half=half)(content, style, settings,
                                                                  depth=depth).image
        d = (got.float().cpu() - ref).abs()
        out["fp16" if half else "fp32"] = {"max_abs": float(d.max()), "mean_abs": float(d.mean())}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", nargs="+", default=["depthstyle-lite0"])
    ap.add_argument("--sizes", type=int, nargs="+", default=[512])
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--baseline", action="store_true",
                    help="also time bench_stylize.py's reference-style baseline (batch 1, fp32)")
    ap.add_argument("--depth-arch", action="store_true",
                    help="also time with a Depth Anything V2 Small-shaped model per batch")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("bench_gpu.py needs a CUDA device")
    torch.backends.cudnn.benchmark = True
    rows = []
    for model in args.model:
        for size in args.sizes:
            for half in (False, True):
                for depth_kind in ["gt"] + (["da-arch"] if args.depth_arch else []):
                    for batch in args.batches:
                        try:
                            row = time_config(model, size, batch, half, args.reps, depth_kind)
                        except Exception as exc:  # noqa: BLE001 - record and go on
                            row = {"model": model, "size": size, "batch": batch, "half": half,
                                   "depth": depth_kind,
                                   "error": f"{type(exc).__name__}: {exc}"[:300]}
                        rows.append(row)
                        print(json.dumps(row), flush=True)
                        torch.cuda.empty_cache()
    if args.baseline:
        for model in args.model:
            row = time_baseline(model, args.sizes[0], args.reps)
            rows.append(row)
            print(json.dumps(row), flush=True)
    checks = {m: parity(m, args.sizes[0]) for m in args.model}
    print(json.dumps({"parity": checks}), flush=True)
    import depthstyle
    meta = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__,
            "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
            "python": platform.python_version(), "depthstyle": depthstyle.__version__,
            "cudnn_benchmark": True}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "rows": rows, "parity": checks}, indent=1))


if __name__ == "__main__":
    main()
