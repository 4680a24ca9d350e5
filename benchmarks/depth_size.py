"""How small can depth be computed? Strength error and near-region fidelity by depth size.

The strength map is smooth and the transform has a contrast knob, so the depth network need not
run at its native 518 px. This measures what a smaller working size costs, with ground truth
standing in for the network: for each scene of ../shared/depth, the true proximity is reduced
to a working size (its short side, on the ViT-14 patch grid: 518, 364, 266, 182, 126 px; area
averaging, as the network sees a downscaled photo), then brought back to the photo's size
bilinearly or with the photo as guide (:func:`guided_upsample` below). Against
the full-resolution proximity it reports

* the mean absolute strength error (default offset and contrast), over all pixels and over
  the nearest third;
* the SSIM of the stylized outputs (bundled model, Matisse, 384 px) in the nearest third, the
  output made with full-resolution strength as the reference.

Run: python benchmarks/depth_size.py --out benchmarks/results/depth_size.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from depthstyle.depth import proximity_from_values
from depthstyle.depth.maps import _box_sum
from depthstyle.evaluation.metrics import near_mask, ssim
from depthstyle.io import load_image, read_map_array, resize_image
from depthstyle.pipeline import StyleSettings, Stylizer
from depthstyle.strength import strength_from_proximity

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def scenes(folder: Path):
    for photo in sorted(folder.glob("*.jpg")):
        gt = photo.with_name(photo.stem + ".depth.png")
        if gt.is_file():
            kind = "disparity" if photo.name.startswith("middlebury") else "depth"
            yield photo, gt, kind


def guided_upsample(low: torch.Tensor, guide: torch.Tensor, radius: int = 8,
                    eps: float = 1e-3) -> torch.Tensor:
    """A low-resolution map brought to the guide's size with the guided filter.

    The guided filter of He, Sun & Tang (ECCV 2010) with the photo's luminance as the guide,
    applied to the bilinearly upsampled map: inside each (2r+1)² window the output is a linear
    function of the guide. Measured here, it does worse than bilinear upsampling (it copies the
    photo's texture into the map), so the package upsamples bilinearly.

    Args:
        low: (B, 1, h, w) map (proximity).
        guide: (B, 3 or 1, H, W) image in [0, 1] at the output size.
        radius: window radius in output pixels.
        eps: regularisation; larger keeps more of the bilinear map in flat regions.

    Returns:
        (B, 1, H, W) map, clamped to the input map's range.
    """
    if low.ndim != 4 or low.shape[1] != 1 or guide.ndim != 4:
        raise ValueError(f"guided_upsample needs (B, 1, h, w) and (B, C, H, W), got "
                         f"{tuple(low.shape)} and {tuple(guide.shape)}")
    size = guide.shape[-2:]
    p = F.interpolate(low.float(), size=size, mode="bilinear", align_corners=False)
    g = guide.float()
    if g.shape[1] == 3:
        g = (0.299 * g[:, :1] + 0.587 * g[:, 1:2] + 0.114 * g[:, 2:3])
    k = 2 * radius + 1
    n = _box_sum(torch.ones_like(g), k)

    def mean(x: torch.Tensor) -> torch.Tensor:
        return _box_sum(x, k) / n

    mg, mp = mean(g), mean(p)
    a = (mean(g * p) - mg * mp) / (mean(g * g) - mg * mg + eps)
    b = mp - a * mg
    out = (mean(a) * g.double() + mean(b)).float()
    return out.clamp(float(low.min()), float(low.max()))


def reduce_to(p: torch.Tensor, short: int) -> torch.Tensor:
    h, w = p.shape[-2:]
    s = short / min(h, w)
    if s >= 1:
        return p
    size = (max(1, round(h * s)), max(1, round(w * s)))
    return F.interpolate(p, size=size, mode="area")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[518, 364, 266, 182, 126])
    ap.add_argument("--content-size", type=int, default=384)
    ap.add_argument("--style", type=Path, default=ROOT / "examples" / "woman_with_hat.jpg")
    ap.add_argument("--radius", type=int, default=8)
    ap.add_argument("--eps", type=float, default=1e-3)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.manual_seed(0)
    st = Stylizer(depth=None)
    settings = StyleSettings(content_size=None)
    rows: dict[str, dict[str, list[float]]] = {}
    t0 = time.perf_counter()
    n = 0
    for photo, gt, kind in scenes(SHARED / "depth"):
        img = resize_image(load_image(photo), args.content_size, upscale=False)
        full = proximity_from_values(read_map_array(gt), kind)
        full = F.interpolate(full, size=img.shape[-2:], mode="area")
        s_full = strength_from_proximity(full, settings.offset, settings.contrast)
        ref = st(img, args.style, settings, strength=s_full).image
        near = near_mask(full)
        n += 1
        for size in args.sizes:
            # the working size is the short side of the network's input, at the photo's own
            # resolution before our resize to content size: scale accordingly
            native_short = min(load_image(photo).shape[-2:])
            short = max(1, round(min(img.shape[-2:]) * min(1.0, size / native_short)))
            low = reduce_to(full, short)
            for how in ("bilinear", "guided"):
                if how == "bilinear":
                    p = F.interpolate(low, size=img.shape[-2:], mode="bilinear",
                                      align_corners=False)
                else:
                    p = guided_upsample(low, img, args.radius, args.eps)
                s = strength_from_proximity(p, settings.offset, settings.contrast)
                out = st(img, args.style, settings, strength=s).image
                err = (s - s_full).abs()
                r = rows.setdefault(f"{size}/{how}", {"mae": [], "mae_near": [],
                                                      "ssim_near": []})
                r["mae"].append(float(err.mean()))
                r["mae_near"].append(float(err[near[:, :1]].mean()))
                r["ssim_near"].append(ssim(out, ref, near))
    table = {k: {m: round(statistics.mean(v), 4) for m, v in r.items()}
             | {"worst_mae": round(max(r["mae"]), 4)} for k, r in rows.items()}
    result = {"scenes": n, "content_size": args.content_size, "style": args.style.name,
              "radius": args.radius, "eps": args.eps, "rows": table,
              "seconds": round(time.perf_counter() - t0, 1),
              "machine": platform.processor() or platform.machine(),
              "torch": torch.__version__}
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
