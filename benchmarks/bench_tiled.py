"""Large images: tiled stylization memory/time and seam error.

1. Seam error: a 1024x1024 content stylized whole and in 256 px tiles (64 px margin); the
   absolute difference is reported separately in 8 px bands along the tile borders and
   elsewhere. Seams would show as a larger error in the border bands.
2. A 4096x4096 content stylized in 1024 px tiles: wall time and peak RSS, in a fresh
   subprocess each, next to an untiled 2048x2048 run for scale.

Run: python benchmarks/bench_tiled.py --out benchmarks/results/tiled_cpu.json
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]


def _content(size: int) -> torch.Tensor:
    from depthstyle import load_image

    img = load_image(ROOT / "examples" / "golden_gate.jpg")
    return F.interpolate(img, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)


def _proximity(size: int) -> torch.Tensor:
    y = torch.linspace(0, 1, size).view(1, 1, size, 1)
    return y.expand(1, 1, size, size).contiguous()  # bottom of the image = near


def run_one(model: str, size: int, tile: int | None) -> dict:
    from depthstyle import StyleSettings, Stylizer, load_image

    stylizer = Stylizer(model, device="cpu", tile_size=tile)
    style = load_image(ROOT / "examples" / "woman_with_hat.jpg")
    content, prox = _content(size), _proximity(size)
    settings = StyleSettings(content_size=None)
    stylizer(content[..., :64, :64], style, settings)  # warm-up, fills the style cache
    t0 = time.perf_counter()
    out = stylizer(content, style, settings, depth=prox).image
    seconds = time.perf_counter() - t0
    return {"size": size, "tile": tile, "seconds": seconds, "shape": list(out.shape),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def seam_error(model: str, size: int = 1024, tile: int = 256, band: int = 8) -> dict:
    from depthstyle import StyleSettings, Stylizer, load_image

    style = load_image(ROOT / "examples" / "woman_with_hat.jpg")
    content, prox = _content(size), _proximity(size)
    settings = StyleSettings(content_size=None)
    whole = Stylizer(model, device="cpu", tile_size=None)(content, style, settings,
                                                           depth=prox).image
    tiled = Stylizer(model, device="cpu", tile_size=tile)(content, style, settings,
                                                          depth=prox).image
    diff = (whole - tiled).abs().mean(1)[0]
    border = torch.zeros(size, size, dtype=torch.bool)
    for k in range(tile, size, tile):
        border[k - band: k + band, :] = True
        border[:, k - band: k + band] = True
    return {"size": size, "tile": tile, "band_px": band,
            "mean_abs_diff_border": float(diff[border].mean()),
            "mean_abs_diff_interior": float(diff[~border].mean()),
            "max_abs_diff": float(diff.max()), "unit": "RGB in [0, 1]"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="depthstyle-lite0")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        size, tile = args.one.split(":")
        print(json.dumps(run_one(args.model, int(size), int(tile) or None)))
        return
    result = {"seam": seam_error(args.model), "runs": []}
    print(json.dumps(result["seam"]), flush=True)
    for size, tile in ((2048, 0), (4096, 1024)):
        cmd = [sys.executable, __file__, "--model", args.model, "--out", "-",
               "--one", f"{size}:{tile}"]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        row = json.loads(out.strip().splitlines()[-1])
        result["runs"].append(row)
        print(json.dumps(row), flush=True)
    result["command"] = " ".join(sys.argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
