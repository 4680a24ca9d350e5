"""Edge bands: reconstruction error in the outer 16 px vs inside, by border padding.

Measures a model's decoder alone (alpha 0, no detail residual) on the validation photos with the
engine's reflect-padded border set to 0 (the v1 pipeline), 16 (the default) and 32 pixels, and
also per side, to locate the cause of the bands (docs/results.md).

    python research/border_bands.py --model depthstyle-lite0-v1 \
        --contents ../shared/train/content --split benchmarks/validation-split.json
    python research/border_bands.py --model depthstyle-lite0-v1 \
        --contents ../shared/images ../shared/depth
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch

from depthstyle.evaluation.quality import border_ratio
from depthstyle.pipeline import StyleSettings, Stylizer
from depthstyle.training.data import read_split


def side_ratios(x: torch.Tensor, y: torch.Tensor, band: int = 16) -> dict[str, float]:
    err = (x.double() - y.double()).abs().mean(1)[0]
    h, w = err.shape
    inner = err[band: h - band, band: w - band].mean()
    return {"top": float(err[:band].mean() / inner), "bottom": float(err[-band:].mean() / inner),
            "left": float(err[:, :band].mean() / inner),
            "right": float(err[:, -band:].mean() / inner)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="depthstyle-lite0")
    ap.add_argument("--contents", required=True, nargs="+", help="folders of photos")
    ap.add_argument("--split", default=None, help="keep only the contents named here")
    ap.add_argument("--size", type=int, default=384)
    ap.add_argument("--borders", default="0,16,32")
    ap.add_argument("-o", "--output", default=None, help="JSON file for the numbers")
    args = ap.parse_args()
    from depthstyle.training.data import list_images

    files = [f for folder in args.contents for f in list_images(folder)
             if ".depth." not in f.name and ".disparity." not in f.name]  # photos, not maps
    if args.split:
        keep = set(read_split(args.split)["content"])
        files = [f for f in files if f.name in keep]
    settings = StyleSettings(alpha=0.0, depth_aware=False, detail=False, content_size=args.size)
    report = {"model": args.model, "size": args.size, "images": len(files), "by_border": {}}
    for b in (int(x) for x in args.borders.split(",")):
        st = Stylizer(args.model, device="cpu", border=b)
        ratios, sides = [], {k: [] for k in ("top", "bottom", "left", "right")}
        for f in files:
            photo = st.load_content(f, settings)
            rec = st(photo, photo, settings).image
            ratios.append(border_ratio(rec, photo))
            for k, v in side_ratios(rec, photo).items():
                sides[k].append(v)
        report["by_border"][b] = {
            "median": statistics.median(ratios), "max": max(ratios),
            "share_le_1.5": sum(r <= 1.5 for r in ratios) / len(ratios),
            **{f"{k}_median": statistics.median(v) for k, v in sides.items()},
            **{f"{k}_max": max(v) for k, v in sides.items()}}
        print(b, json.dumps(report["by_border"][b]))
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
