"""Which texture statistics match (docs/method.md 5d) makes outputs most style-specific?

The bundled model's alpha-1 outputs (decoded level only, no border padding, 384 px) for the
first N photos of the small validation split and its 8 paintings; each variant post-processes
the same outputs and is scored with the quality evaluation's style specificity and style
distance (docs/metrics.md). Variants: no match; the 4 finest Laplacian bands of the luminance;
those plus the luminance histogram; 5 bands, the low-pass and the luminance (the first,
unoriented match); then that match with K oriented sub-bands per band (from level 0, or from
level 1 with the finest band whole) and 1 to 3 passes (the shipped match; the last row is
the shipped default). A probe for choosing the variant, not a feature:

    python research/texture_probe.py --photos 8 [--only TEXT ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from depthstyle.color import rgb_to_yiq, yiq_to_rgb
from depthstyle.ops import adain
from depthstyle.texture import (
    collapse_pyramid,
    laplacian_pyramid,
    match_texture,
    quantile_map,
    texture_stats,
    weighted_quantiles,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wct_probe import TRAIN, _scaled, probe_setup, score  # noqa: E402


def _bands_match(out: torch.Tensor, painting: torch.Tensor, levels: int, lum: bool
                 ) -> torch.Tensor:
    """The finest ``levels`` bands matched (low-pass kept), then optionally the luminance."""
    yiq, ref = rgb_to_yiq(out), rgb_to_yiq(painting)[:, :1]
    bands, low = laplacian_pyramid(yiq[:, :1], levels)
    ref_bands, _ = laplacian_pyramid(ref, levels)
    y = collapse_pyramid([quantile_map(b, weighted_quantiles(b), weighted_quantiles(r))
                          for b, r in zip(bands, ref_bands, strict=True)], low)
    if lum:
        y = quantile_map(y, weighted_quantiles(y), weighted_quantiles(ref))
    return yiq_to_rgb(torch.cat([y, yiq[:, 1:]], 1)).clamp(0, 1)


def _hb(orientations: int, oriented_from: int, iterations: int):
    """``match_texture`` with K orientations from level ``oriented_from`` and N passes."""
    return lambda o, p: match_texture(
        o, texture_stats(p, orientations=orientations, oriented_from=oriented_from),
        orientations=orientations, oriented_from=oriented_from, iterations=iterations)


VARIANTS = {
    "off": lambda o, p: o,
    "bands4": lambda o, p: _bands_match(o, p, 4, False),
    "bands4+lum": lambda o, p: _bands_match(o, p, 4, True),
    "bands5+low+lum, 1 pass (the first, unoriented match)": _hb(1, 0, 1),
    "1 orientation, 2 passes": _hb(1, 0, 2),
    "1 orientation, 3 passes": _hb(1, 0, 3),
    "2 orientations, 1 pass": _hb(2, 0, 1),
    "4 orientations, 1 pass": _hb(4, 0, 1),
    "6 orientations, 1 pass": _hb(6, 0, 1),
    "2 orientations, 2 passes": _hb(2, 0, 2),
    "2 orientations from level 1, 2 passes": _hb(2, 1, 2),
    "4 orientations, 2 passes": _hb(4, 0, 2),
    "4 orientations from level 1, 2 passes (shipped)": _hb(4, 1, 2),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="depthstyle-lite0")
    ap.add_argument("--photos", type=int, default=8)
    ap.add_argument("--size", type=int, default=384)
    ap.add_argument("--only", nargs="*", metavar="TEXT",
                    help="run only the variants whose name contains one of these texts")
    args = ap.parse_args()
    split, m, net, feats_s, deep_s, style_d = probe_setup(args.model)
    styles = split["style"]
    enc, dec, top = m.encoder, m.decoder, m.decode_level
    paintings = {s: _scaled(TRAIN / "style" / s, 512, 1) for s in styles}
    with torch.inference_mode():
        outs = {}
        for photo in split["content"][: args.photos]:
            f = enc(_scaled(TRAIN / "content" / photo, args.size), upto=top)
            for s in styles:
                outs[photo, s] = dec([*f[:-1], adain(f[-1], deep_s[s])], 1.0).clamp(0, 1)
    print("| variant | specificity gradient | specificity Gram | style distance mean/std |")
    print("|---|---|---|---|")
    for name, fn in VARIANTS.items():
        if args.only and not any(t in name for t in args.only):
            continue
        photos = ({s: fn(outs[photo, s], paintings[s]) for s in styles}
                  for photo in split["content"][: args.photos])
        grad, gram, dist, _ = score(photos, net, feats_s, style_d)
        print(f"| {name} | {grad:.3f} | {gram:.3f} | {dist:.3f} |", flush=True)

if __name__ == "__main__":
    main()
