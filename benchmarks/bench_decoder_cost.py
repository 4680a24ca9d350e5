"""Where a new photo's time goes, and what narrower skip decoders would cost (docs/model-card.md).

1. Profiles ``Stylizer`` calls on a new photo each time (the reconstruction cache off, a given
   proximity map, ``--detail``: the default blend, one decoder pass, or the residual, two) and
   splits the time into the decoder's passes, the encoder (``restyle_encode``) and the rest.
2. Times the decoder of the model against narrower skip decoders of the same taps, interleaved in
   one process (so a busy machine shifts them alike), and reports each relative to the model's.

    python benchmarks/bench_decoder_cost.py --out benchmarks/results/decoder_cost_cpu.json
"""

from __future__ import annotations

import argparse
import cProfile
import json
import platform
import pstats
import statistics
import time
from pathlib import Path

import torch

WIDTHS = [((96, 48, 24, 12), 16), ((96, 48, 24, 8), 16), ((64, 32, 16, 8), 16)]


def profile_shares(model: str, size: int, reps: int, detail: str = "blend") -> dict:
    from depthstyle import StyleSettings, Stylizer

    st = Stylizer(model, device="cpu", depth=None)
    st.engine.recon_cache_size = 0  # a new photo every call
    gen = torch.Generator().manual_seed(0)
    content = torch.rand(1, 3, size, size, generator=gen)
    style = torch.rand(1, 3, 512, 512, generator=gen)
    prox = torch.rand(1, 1, size, size, generator=gen)
    settings = StyleSettings(content_size=None, style_size=512, detail=detail)
    st(content, style, settings, depth=prox)  # warm-up, style statistics cached
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(reps):
        st(content, style, settings, depth=prox)
    prof.disable()
    stats = pstats.Stats(prof).stats  # (file, line, name) -> (cc, nc, tt, ct, callers)

    def cumulative(file_end: str, name: str) -> float:
        return sum(v[3] for k, v in stats.items() if k[0].endswith(file_end) and k[2] == name)

    total = cumulative("pipeline.py", "__call__")
    decoder = cumulative("models/decoder.py", "decode")
    encoder = cumulative("ops.py", "restyle_encode")
    return {"seconds_per_call": total / reps, "decoder": decoder / total,
            "encoder": encoder / total, "rest": 1 - (decoder + encoder) / total}


def relative_widths(model: str, size: int, reps: int) -> list[dict]:
    from depthstyle.models import build_decoder, load_model

    m = load_model(model)
    enc = m.encoder.eval().to(memory_format=torch.channels_last)
    base = m.decoder.eval().to(memory_format=torch.channels_last)
    decoders = [(tuple(base.widths), base.skip_width, base)] + [
        (w, sw, build_decoder(enc, w, m.decode_level, "skip", sw).eval()
         .to(memory_format=torch.channels_last)) for w, sw in WIDTHS]
    x = torch.rand(1, 3, size, size).contiguous(memory_format=torch.channels_last)
    times: list[list[float]] = [[] for _ in decoders]
    with torch.inference_mode():
        feats = enc(x, upto=m.decode_level)
        strength = torch.full((1, 1, size, size), 0.5)
        for _, _, d in decoders:
            d(feats, strength)  # warm-up
        for _ in range(reps):
            for i, (_, _, d) in enumerate(decoders):
                t0 = time.perf_counter()
                d(feats, strength)
                times[i].append(time.perf_counter() - t0)
    ref = statistics.median(times[0])
    return [{"widths": list(w), "skip_width": sw,
             "parameters": sum(p.numel() for p in d.parameters()),
             "ms": statistics.median(t) * 1000, "relative": statistics.median(t) / ref}
            for (w, sw, d), t in zip(decoders, times, strict=True)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="depthstyle-lite0-v3")
    ap.add_argument("--size", type=int, default=512, help="photo side (the decoder timing "
                                                          "adds the 16-px border on each side)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--detail", choices=("blend", "residual"), default="blend")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    result = {"model": args.model, "size": args.size, "reps": args.reps, "detail": args.detail,
              "threads": args.threads, "torch": torch.__version__,
              "machine": platform.processor() or platform.machine(),
              "profile": profile_shares(args.model, args.size, args.reps, args.detail),
              "decoders": relative_widths(args.model, args.size + 32, args.reps)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
