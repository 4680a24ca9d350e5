"""PyTorch vs onnxruntime on the CPU: time per image and output difference, bundled model.

For each size the content (examples/books.jpg, resized and centre-cropped to a square) is
stylized by both backends with the style statistics cached and the strength computed from the
ground-truth disparity (examples/books.disparity.png) on every call: the time covers the strength
transform, encoder, AdaIN and decoder (the parts each backend runs), not file decoding. Parity is
the max |PyTorch - onnxruntime| over the output image. The ONNX export is made once, in a
temporary folder (its time is reported too).

Run: python benchmarks/bench_backends.py --out benchmarks/results/backends_cpu.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    import onnxruntime

    from depthstyle import DepthMapFile, StyleSettings, Stylizer
    from depthstyle.export import export_onnx
    from depthstyle.io import load_image, square_crop

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    content_full = load_image(ROOT / "examples" / "books.jpg")
    style = load_image(ROOT / "examples" / "woman_with_hat.jpg")
    prox_full = DepthMapFile(ROOT / "examples" / "books.disparity.png", "disparity")(content_full)
    settings = StyleSettings(content_size=None, style_size=512)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        export_onnx("depthstyle-lite0", Path(tmp) / "lite0")
        export_s = time.perf_counter() - t0
        backends = {"torch (channels_last)": Stylizer(device="cpu"),
                    "onnxruntime": Stylizer.from_onnx(Path(tmp) / "lite0")}
        for size in args.sizes:
            content = square_crop(content_full, size)
            depth = square_crop(prox_full, size)  # proximity tensor, cropped like the content
            outs = {}
            for name, st in backends.items():
                st(content, style, settings, depth=depth)  # warm-up, caches the style
                times = []
                for _ in range(args.reps):
                    t = time.perf_counter()
                    outs[name] = st(content, style, settings, depth=depth).image
                    times.append(time.perf_counter() - t)
                ms = statistics.median(times) * 1000
                rows.append({"backend": name, "size": size, "ms_per_image": round(ms, 1),
                             "images_per_s": round(1000 / ms, 2)})
                print(json.dumps(rows[-1]), flush=True)
            diff = (outs["torch (channels_last)"] - outs["onnxruntime"]).abs().max().item()
            rows[-1]["parity_max_abs_diff"] = diff
            print(f"size {size}: max |torch - onnxruntime| = {diff:.2e}", flush=True)
    meta = {"command": " ".join(sys.argv), "machine": platform.machine(),
            "torch": torch.__version__, "onnxruntime": onnxruntime.__version__,
            "torch_threads": torch.get_num_threads(), "export_s": round(export_s, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
