"""Compare candidate encoders for the bundled model (issue: bundled offline model).

Two measurements per encoder (``lite0``: EfficientNet-Lite0 expansion taps with ImageNet weights;
``random-vgg19``: VGG-19 layout with seeded random weights):

1. Feature-space quality, no decoder involved: optimise an image (init = content, Adam) so that
   its features at the decode tap match AdaIN(content, style) and its per-tap mean/std match the
   style's. Then score the result in an *independent* loss network (a VGG-19-shaped random
   network with another seed, and the Lite0 *projection* outputs, which neither model uses):
   style distance (mean/std and Gram of features) and content distance (features at the
   deepest tap), each relative to the content image's own distance to the style.
2. Cost on this CPU: seconds per decoder-training step (batch 8, 224 px) and encoder forward
   time at 512x512.

Run: python research/encoder_comparison.py --out research/research/results/encoder_comparison.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from depthstyle.io import load_image, square_crop
from depthstyle.models import DEFAULT_DECODE_LEVEL, build_decoder, build_encoder
from depthstyle.ops import adain
from depthstyle.training.losses import style_loss

SHARED = Path(__file__).resolve().parents[2] / "shared" / "images"


def gram(f: torch.Tensor) -> torch.Tensor:
    b, c, h, w = f.shape
    x = f.flatten(2)
    return x @ x.transpose(1, 2) / (c * h * w)


def independent_scores(nets, out, content, style):
    """Style (mean/std, Gram) and content distances of ``out`` in the independent networks."""
    scores = {}
    for name, net in nets.items():
        fo, fc, fs = net(out), net(content), net(style)
        ms, ms_ref = style_loss(fo, fs), style_loss(fc, fs)
        gr = sum(F.mse_loss(gram(a), gram(b)) for a, b in zip(fo, fs, strict=True))
        gr_ref = sum(F.mse_loss(gram(a), gram(b)) for a, b in zip(fc, fs, strict=True))
        cont = F.mse_loss(fo[-1], fc[-1]) / fc[-1].pow(2).mean()
        scores[name] = {"style_meanstd_rel": float(ms / ms_ref),
                        "style_gram_rel": float(gr / gr_ref), "content_rel": float(cont)}
    return scores


def lite0_projection_net():
    """Lite0 block outputs after the projection (not the expansion taps the model uses)."""
    enc = build_encoder("lite0")
    taps = []

    class Net(torch.nn.Module):
        def forward(self, x):
            taps.clear()
            enc(x)
            return list(taps)

    for stage in enc.stages[1:]:  # the first module of each later stage is the previous tail
        stage[0].register_forward_hook(lambda m, i, o: taps.append(o))
    return Net()


def optimise(encoder, level, content, style, steps, style_weight=10.0):
    with torch.no_grad():
        fc = encoder(content, upto=level)[level]
        fs = encoder(style)
        target = adain(fc, fs[level])
    x = content.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=0.02)
    for _ in range(steps):
        fo = encoder(x)
        loss = F.mse_loss(fo[level], target) + style_weight * style_loss(fo, fs)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            x.clamp_(0, 1)
    return x.detach()


def train_step_seconds(name: str, reps: int = 3) -> float:
    enc = build_encoder(name)
    level = DEFAULT_DECODE_LEVEL[name]
    dec = build_decoder(enc, None, level)
    opt = torch.optim.Adam(dec.parameters(), 1e-4)
    c, s = torch.rand(8, 3, 224, 224), torch.rand(8, 3, 224, 224)
    times = []
    for _ in range(reps + 1):
        t0 = time.perf_counter()
        with torch.no_grad():
            t = adain(enc(c, upto=level)[level], enc(s)[level])
            fs = enc(s)
        out = dec(t)
        fo = enc(out)
        loss = F.mse_loss(fo[level], t) + style_loss(fo, fs)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return sorted(times[1:])[len(times[1:]) // 2]


def encoder_ms(name: str, size: int = 512, reps: int = 5) -> float:
    enc = build_encoder(name)
    level = DEFAULT_DECODE_LEVEL[name]
    x = torch.rand(1, 3, size, size)
    with torch.inference_mode():
        enc(x, upto=level)
        t0 = time.perf_counter()
        for _ in range(reps):
            enc(x, upto=level)
    return (time.perf_counter() - t0) / reps * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--contents", nargs="+", default=["golden_gate", "sailboat"])
    ap.add_argument("--styles", nargs="+", default=["la_muse", "woman_with_hat_matisse", "sketch"])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--images-out", type=Path, default=None, help="save a contact sheet PNG")
    ap.add_argument("--part", choices=("all", "quality", "cost"), default="all",
                    help="cost = timings only (run alone on the machine); quality = the rest")
    args = ap.parse_args()
    if args.part == "cost":
        cost = {name: {"train_step_s_b8_224": train_step_seconds(name),
                       "encoder_ms_512": encoder_ms(name)} for name in ("lite0", "random-vgg19")}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"cost": cost}, indent=2))
        print(json.dumps(cost))
        return
    torch.manual_seed(0)

    indep = {"random-vgg19-seed1234": build_encoder("random-vgg19", seed=1234),
             "lite0-projections": lite0_projection_net()}
    encoders = {name: build_encoder(name) for name in ("lite0", "random-vgg19")}
    results = {"settings": vars(args) | {"out": str(args.out),
                                         "images_out": str(args.images_out)},
               "pairs": [], "cost": {}}
    rows = []
    for c in args.contents:
        content = square_crop(load_image(_find(c, "content")), args.size)
        for s in args.styles:
            style = square_crop(load_image(_find(s, "style")), args.size)
            row = [content, style]
            for name, enc in encoders.items():
                t0 = time.perf_counter()
                out = optimise(enc, DEFAULT_DECODE_LEVEL[name], content, style, args.steps)
                seconds = time.perf_counter() - t0
                with torch.no_grad():
                    sc = independent_scores(indep, out, content, style)
                results["pairs"].append({"content": c, "style": s, "encoder": name,
                                         "seconds": seconds, "scores": sc})
                print(c, s, name, json.dumps(sc), f"{seconds:.1f}s", flush=True)
                row.append(out)
            rows.append(torch.cat(row, dim=3))
    for name in encoders if args.part == "all" else ():
        results["cost"][name] = {"train_step_s_b8_224": train_step_seconds(name),
                                 "encoder_ms_512": encoder_ms(name)}
        print(name, results["cost"][name], flush=True)
    summary = {}
    for name in encoders:
        mine = [p["scores"] for p in results["pairs"] if p["encoder"] == name]
        summary[name] = {net: {k: sum(m[net][k] for m in mine) / len(mine)
                               for k in mine[0][net]} for net in indep}
    results["summary"] = summary
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(summary, indent=2))
    if args.images_out:
        from depthstyle.io import save_image

        save_image(torch.cat(rows, dim=2), args.images_out, overwrite=True)


def _find(stem: str, kind: str) -> Path:
    for ext in (".jpg", ".png"):
        p = SHARED / kind / f"{stem}{ext}"
        if p.exists():
            return p
    raise SystemExit(f"no {kind} image {stem} in {SHARED / kind}")


if __name__ == "__main__":
    main()
