"""Build docs/gallery.png (and docs/gallery-depth.png) with the bundled model.

Part 1 (gallery.png): 5 contents x 5 styles from ../shared/images, stylized at 512 px (longer
side) with uniform AdaIN (alpha 1); first column the contents, first row the styles.
Part 2 (gallery-depth.png): scenes with ground-truth depth (../shared/depth): content, its
strength map, then for each style uniform AdaIN next to depth-aware (default offset/contrast).
Part 3 (gallery-<old>-<new>.png, e.g. gallery-v1-v3.png, with ``--compare OLD``): the same
pairs with model v1 (as it ran: no border padding, no detail residual, no texture match) and
the current model with the current defaults.
Per depth scene: content, strength map, OLD depth-aware, NEW depth-aware, OLD uniform, NEW
uniform (Matisse). Then one photo in three very different styles, OLD row above NEW row
(brushwork per style).
Cells are shown at 256 px.

Run: python docs/make_gallery.py [--compare depthstyle-lite0-v1]  (needs ../shared)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F

from depthstyle import DepthMapFile, StyleSettings, Stylizer, load_image, save_image

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CONTENTS = ["chicago", "golden_gate", "sailboat", "cornell", "modern"]
STYLES = ["la_muse", "woman_with_hat_matisse", "brushstrokes", "the_resevoir_at_poitiers",
          "picasso_self_portrait"]
DEPTH_SCENES = [("middlebury2005_books", "disparity"), ("middlebury2006_aloe", "disparity"),
                ("tum_slambook_ch7_1", "depth")]
CELL = 256


def _cell(img: torch.Tensor) -> torch.Tensor:
    """Fit an image into a CELL x CELL white square."""
    h, w = img.shape[-2:]
    s = CELL / max(h, w)
    img = F.interpolate(img, size=(max(1, round(h * s)), max(1, round(w * s))), mode="bilinear",
                        antialias=True, align_corners=False).clamp(0, 1)
    out = torch.ones(1, 3, CELL, CELL)
    h, w = img.shape[-2:]
    top, left = (CELL - h) // 2, (CELL - w) // 2
    out[..., top: top + h, left: left + w] = img
    return out


def _grid(rows: list[list[torch.Tensor]]) -> torch.Tensor:
    return torch.cat([torch.cat([_cell(x) for x in row], dim=3) for row in rows], dim=2)


def _find(kind: str, stem: str) -> Path:
    return next(p for p in (SHARED / "images" / kind).glob(f"{stem}.*"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="depthstyle-lite0")
    ap.add_argument("--compare", default=None, metavar="OLD",
                    help="also write docs/gallery-<old>-<new>.png comparing OLD with --model")
    ap.add_argument("--only-compare", action="store_true", help="skip parts 1 and 2")
    args = ap.parse_args()
    if args.compare:
        compare(args.compare, args.model)
        if args.only_compare:
            return
    stylizer = Stylizer(args.model, device="cpu")
    uniform = StyleSettings(depth_aware=False, content_size=512, style_size=512)
    styles = [_find("style", s) for s in STYLES]

    rows = [[torch.ones(1, 3, CELL, CELL)] + [load_image(s) for s in styles]]
    for c in CONTENTS:
        path = _find("content", c)
        rows.append([load_image(path)] + [stylizer(path, s, uniform).image for s in styles])
    save_image(_grid(rows), ROOT / "docs" / "gallery.png", overwrite=True)

    depth_settings = StyleSettings(content_size=512, style_size=512)
    header = [torch.ones(1, 3, CELL, CELL), torch.ones(1, 3, CELL, CELL)]
    for s in styles[:3]:
        header += [load_image(s), torch.ones(1, 3, CELL, CELL)]
    rows = [header]
    for stem, kind in DEPTH_SCENES:
        content = SHARED / "depth" / f"{stem}.jpg"
        depth = DepthMapFile(SHARED / "depth" / f"{stem}.depth.png", kind)
        row: list[torch.Tensor] = [load_image(content)]
        for i, s in enumerate(styles[:3]):
            aware = stylizer(content, s, depth_settings, depth=depth)
            if i == 0:
                row.append(aware.strength.expand(-1, 3, -1, -1))
            row += [stylizer(content, s, uniform).image, aware.image]
        rows.append(row)
    save_image(_grid(rows), ROOT / "docs" / "gallery-depth.png", overwrite=True)
    print("docs/gallery.png docs/gallery-depth.png")


def compare(old_name: str, new_name: str) -> None:
    """Part 3: the same pairs with the old model (as it ran) and the new one."""
    old = Stylizer(old_name, device="cpu", border=0)
    new = Stylizer(new_name, device="cpu")
    as_ran = dict(detail=False, texture_match=0.0, content_size=512, style_size=512)
    matisse = _find("style", "woman_with_hat_matisse")
    blank = torch.ones(1, 3, CELL, CELL)
    rows = [[blank, blank, blank, load_image(matisse), blank, blank]]
    for stem, kind in DEPTH_SCENES:
        content = SHARED / "depth" / f"{stem}.jpg"
        depth = DepthMapFile(SHARED / "depth" / f"{stem}.depth.png", kind)
        a_new = new(content, matisse, StyleSettings(content_size=512, style_size=512),
                    depth=depth)
        a_old = old(content, matisse, StyleSettings(**as_ran), depth=depth)
        u_new = new(content, matisse, StyleSettings(depth_aware=False, content_size=512,
                                                    style_size=512))
        u_old = old(content, matisse, StyleSettings(depth_aware=False, **as_ran))
        rows.append([load_image(content), a_new.strength.expand(-1, 3, -1, -1), a_old.image,
                     a_new.image, u_old.image, u_new.image])
    photo = _find("content", "golden_gate")
    three = [_find("style", s) for s in ("mondrian", "sketch", "brushstrokes")]
    rows.append([blank, blank] + [load_image(s) for s in three] + [blank])
    rows.append([load_image(photo), blank] + [
        old(photo, s, StyleSettings(depth_aware=False, **as_ran)).image for s in three] + [blank])
    rows.append([load_image(photo), blank] + [
        new(photo, s, StyleSettings(depth_aware=False, content_size=512,
                                    style_size=512)).image for s in three] + [blank])
    from depthstyle.weights import resolve_name

    tags = [resolve_name(n).rsplit("-", 1)[-1] for n in (old_name, new_name)]
    out = ROOT / "docs" / f"gallery-{tags[0]}-{tags[1]}.png"
    save_image(_grid(rows), out, overwrite=True)
    print(out)


if __name__ == "__main__":
    main()
