"""Stylization speed and memory: depthstyle's pipeline vs a reference-style baseline.

For each size the content (examples/books.jpg, resized and centre-cropped to a square) is
stylized with the style statistics cached and a strength map computed from its ground-truth
disparity (examples/books.disparity.png) on every call: the time covers strength computation,
encoding, AdaIN, decoding and clamping, not file decoding and not depth *estimation*.

The baseline does what the public AdaIN test scripts do: for every image it re-encodes the
style, runs plain AdaIN (alpha = 1, at the model's default levels) and decodes, fp32, eager, no
caching, no border padding, no detail residual, on the same weights. Parity: max |ours -
baseline| with depth off, alpha = 1 and no border padding (same maths, so it should be ~0).
"ours" includes the reflect-padded border, the default photo blend (``detail="blend"``: one
decoder pass, nothing cached per photo, so every call costs what a new photo costs) and the
default texture match (docs/method.md 5d; ``--no-texture`` adds rows without it). The parity
check turns the texture match off, as the baseline has none.
"residual" uses the two-pass detail residual instead (``detail="residual"``: a second decoder
pass wherever strength < 1, cached per content: the repeated photo here reuses it, as a batch of
styles, the web page's sliders or an evaluation sweep do); "fresh" is the residual with the cache
off, as when every call brings a new photo; ``--no-detail`` adds rows with ``detail="off"``.
Every row but "untuned" runs with ``depthstyle.runtime.tune_cpu_allocator()`` (the PyTorch
engine calls it on the CPU); "untuned" is "ours" with ``DEPTHSTYLE_MALLOC_TUNING=0``.

Each configuration runs in a fresh subprocess so its peak RSS is its own.

Options add: ``--vgg-arch`` (the VGG-19 AdaIN architecture with random weights, for timing only:
the published weights cannot be had offline, and timing does not depend on weight values),
``--depth-arch`` (strength from a Depth Anything V2 Small-shaped model with random weights run
on every image, timing only), ``--no-cache`` rows (style re-encoded every call),
``--channels-last`` and ``--batches``.

Run: python benchmarks/bench_stylize.py --out benchmarks/results/stylize_cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from depthstyle.io import square_crop
from depthstyle.texture import DEFAULT_TEXTURE_MATCH

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "examples" / "books.jpg"
DISPARITY = ROOT / "examples" / "books.disparity.png"
STYLE = ROOT / "examples" / "woman_with_hat.jpg"


def _model(name: str):
    if name != "vgg19-arch":
        return name
    from depthstyle.models import StyleModel
    from depthstyle.models.vgg import adain_decoder_sequential, random_vgg19_encoder

    return StyleModel(random_vgg19_encoder(seed=0), adain_decoder_sequential().eval(),
                      "vgg19-arch")


def example_proximity(size: int) -> torch.Tensor:
    """The books photo's ground-truth disparity as proximity, centre-cropped like the content."""
    from depthstyle import DepthMapFile, load_image

    full = load_image(CONTENT)
    prox = DepthMapFile(DISPARITY, "disparity")(full)
    return square_crop(prox.expand(-1, 3, -1, -1), size)[:, :1].contiguous()


def depth_arch_model():
    """A Depth Anything V2 Small-shaped depth source (ViT-S/14 + DPT head), random weights."""
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation

    from depthstyle.depth import TransformersDepth

    torch.manual_seed(0)
    return TransformersDepth(DepthAnythingForDepthEstimation(DepthAnythingConfig()),
                             size=(518, 518), multiple=14, name="da-v2-small-arch")


def _depth(kind: str, size: int):
    """Ground truth: the disparity map as proximity (a tensor); else the depth-arch model."""
    return example_proximity(size) if kind == "gt" else depth_arch_model()


def median_seconds(fn, reps: int, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``reps`` calls, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def reference_stylize(m, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """What the public AdaIN test scripts do per image: encode the style again, plain AdaIN
    (alpha = 1, the model's default levels), decode, clamp; no cache, border or detail."""
    from depthstyle.ops import calc_mean_std, restyle_encode

    lv = m.decode_level
    with torch.no_grad():
        stats = [calc_mean_std(f) for f in m.encoder(style, upto=lv)]
        feats = restyle_encode(m.encoder.stages[: lv + 1], content, m.encoder.strides, stats,
                               1.0, m.default_levels)
        return m.decode(feats, 1.0).clamp(0, 1)


def run_one(mode: str, model: str, size: int, reps: int, batch: int, channels_last: bool,
            threads: int, depth_kind: str = "gt") -> dict:
    torch.set_num_threads(threads)
    from depthstyle import StyleSettings, Stylizer, load_image
    from depthstyle.runtime import tune_cpu_allocator

    tuned = tune_cpu_allocator()  # "untuned" runs with DEPTHSTYLE_MALLOC_TUNING=0

    stylizer = Stylizer(_model(model), device="cpu", cache_size=0 if mode == "nocache" else 16,
                        channels_last=channels_last)
    m = stylizer.engine.model
    if mode == "fresh":  # as if every call brought a new photo: no cached reconstruction
        stylizer.engine.recon_cache_size = 0
    detail = {"residual": "residual", "fresh": "residual", "nodetail": "off",
              "baseline": "off"}.get(mode, "blend")  # the baseline has no border, no detail
    content = square_crop(load_image(CONTENT), size).expand(batch, -1, -1, -1).contiguous()
    style = load_image(STYLE)
    depth = _depth(depth_kind, size)
    settings = StyleSettings(content_size=None, style_size=512, detail=detail,
                             texture_match=0.0 if mode == "notexture" else DEFAULT_TEXTURE_MATCH)

    def ours():
        return stylizer(content, style, settings, depth=depth).image

    style512 = square_crop(style, 512)

    m.to(memory_format=torch.contiguous_format)  # baseline: plain eager fp32 (the reference)
    if channels_last:
        m.to(memory_format=torch.channels_last)

    def baseline():
        return reference_stylize(m, content, style512)

    fn = baseline if mode == "baseline" else ours
    med = median_seconds(fn, reps)  # the warm-up also fills the style cache for "ours"
    result = {"mode": mode, "detail": detail, "allocator_tuned": tuned, "model": model,
              "size": size, "batch": batch, "depth": depth_kind,
              "channels_last": channels_last, "threads": threads, "reps": reps,
              "median_s": med, "images_per_s": batch / med, "ms_per_image": med / batch * 1000,
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if mode == "ours" and batch == 1 and depth_kind == "gt":
        plain = StyleSettings(content_size=None, style_size=None, depth_aware=False,
                              texture_match=0)  # the baseline has no texture step
        unpadded = Stylizer(m, device="cpu", channels_last=channels_last, border=0)
        a = unpadded(content, style512, plain).image
        b = baseline()
        result["parity_max_abs_diff"] = float((a - b).abs().max())
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="depthstyle-lite0")
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--batches", type=int, nargs="+", default=[1])
    ap.add_argument("--contiguous", action="store_true",
                    help="also run ours with the plain NCHW layout (default: channels_last)")
    ap.add_argument("--vgg-arch", action="store_true", help="also time the VGG-19 architecture")
    ap.add_argument("--depth-arch", action="store_true",
                    help="also time with a Depth Anything V2 Small-shaped depth model per image")
    ap.add_argument("--no-cache", action="store_true", help="also time without style caching")
    ap.add_argument("--no-detail", action="store_true",
                    help="also time with detail='off' (the decoder's output alone)")
    ap.add_argument("--no-texture", action="store_true",
                    help="also time without the texture match (--texture-match 0)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        mode, size, batch, cl, depth_kind = args.one.split(":")
        print(json.dumps(run_one(mode, args.model, int(size), args.reps, int(batch), cl == "1",
                                 args.threads, depth_kind)))
        return
    configs = []
    models = [args.model] + (["vgg19-arch"] if args.vgg_arch else [])
    for model in models:
        for size in args.sizes:
            configs.append((model, "ours", size, 1, 1, "gt"))
            configs.append((model, "untuned", size, 1, 1, "gt"))
            configs.append((model, "residual", size, 1, 1, "gt"))
            configs.append((model, "fresh", size, 1, 1, "gt"))
            configs.append((model, "baseline", size, 1, 0, "gt"))
            if args.no_cache:
                configs.append((model, "nocache", size, 1, 1, "gt"))
            if args.no_detail:
                configs.append((model, "nodetail", size, 1, 1, "gt"))
            if args.no_texture:
                configs.append((model, "notexture", size, 1, 1, "gt"))
            if args.depth_arch:
                configs.append((model, "ours", size, 1, 1, "da"))
            if args.contiguous:
                configs.append((model, "ours", size, 1, 0, "gt"))
            for batch in args.batches:
                if batch != 1:
                    configs.append((model, "ours", size, batch, 1, "gt"))
    rows = []
    for model, mode, size, batch, cl, depth_kind in configs:
        cmd = [sys.executable, __file__, "--model", model, "--reps", str(args.reps),
               "--threads", str(args.threads), "--out", "-",
               "--one", f"{mode}:{size}:{batch}:{cl}:{depth_kind}"]
        env = {**os.environ, "DEPTHSTYLE_MALLOC_TUNING": "0" if mode == "untuned" else "1"}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            row = {"mode": mode, "model": model, "size": size, "batch": batch,
                   "depth": depth_kind, "channels_last": bool(cl),
                   "error": proc.stderr.strip().splitlines()[-1][:300]}
        else:
            row = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(json.dumps(row), flush=True)
    import depthstyle

    meta = {"machine": platform.platform(), "processor": platform.processor(),
            "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__, "depthstyle": depthstyle.__version__,
            "command": " ".join(sys.argv)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
