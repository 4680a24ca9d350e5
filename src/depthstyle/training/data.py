"""Training images: folder listing, in-memory cache, seeded augmentation.

Batches are drawn by a generator seeded from ``(seed, step)``, so a resumed run sees exactly the
batches it would have seen without interruption, and no data-loader state needs saving.
Unreadable files are skipped, counted and logged once; they never stop a run.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Collection
from pathlib import Path

import torch
import torch.nn.functional as F

from depthstyle.errors import DepthStyleError, ImageReadError
from depthstyle.io import IMAGE_EXTENSIONS, load_image

__all__ = ["list_images", "ImageFolder", "read_split", "synthetic_proximity"]

log = logging.getLogger(__name__)


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files under ``folder`` (recursive, sorted), by extension.

    Raises:
        DepthStyleError: the folder does not exist or holds no image files.
    """
    root = Path(folder)
    if not root.is_dir():
        raise DepthStyleError(f"{root}: not a folder")
    files = sorted(p for p in root.rglob("*") if p.is_file()
                   and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith("."))
    if not files:
        raise DepthStyleError(f"{root}: no image files ({', '.join(IMAGE_EXTENSIONS)})")
    return files


def read_split(path: str | os.PathLike) -> dict[str, list[str]]:
    """Read a validation split: JSON with ``"content"`` and ``"style"`` lists of file names.

    Raises:
        DepthStyleError: unreadable file or missing lists.
    """
    try:
        data = json.loads(Path(path).read_text())
        split = {k: [str(n) for n in data[k]] for k in ("content", "style")}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DepthStyleError(f"{path}: not a split file with 'content' and 'style' lists "
                              f"({exc})") from None
    return split


class ImageFolder:
    """Random crops from a folder of images, cached in memory as uint8 after the first read.

    Args:
        folder: image folder (searched recursively).
        size: side of the square crops.
        scale: range of the shorter side before cropping, as multiples of ``size`` (jitter).
        max_side: images are downscaled so their longer side is at most this when cached.
        exclude: file names (not paths) to leave out, e.g. a held-out validation split.

    Raises:
        DepthStyleError: no image is left after ``exclude``.
    """

    def __init__(self, folder: str | os.PathLike, size: int,
                 scale: tuple[float, float] = (1.0, 1.6), max_side: int = 640,
                 exclude: Collection[str] = ()) -> None:
        files = list_images(folder)
        self.files = [p for p in files if p.name not in set(exclude)]
        if not self.files:
            raise DepthStyleError(f"{folder}: all {len(files)} images are held out")
        self.excluded = len(files) - len(self.files)
        self.size = size
        self.scale = scale
        self.max_side = max_side
        self._cache: dict[int, torch.Tensor] = {}
        self.bad: set[int] = set()

    def __len__(self) -> int:
        return len(self.files)

    def _get(self, i: int) -> torch.Tensor | None:
        if i in self._cache:
            return self._cache[i]
        if i in self.bad:
            return None
        try:
            img = load_image(self.files[i])
        except ImageReadError as exc:
            self.bad.add(i)
            log.warning("skipping unreadable training image (%d so far): %s", len(self.bad), exc)
            return None
        h, w = img.shape[-2:]
        if max(h, w) > self.max_side:
            s = self.max_side / max(h, w)
            img = F.interpolate(img, size=(max(1, round(h * s)), max(1, round(w * s))),
                                mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)
        self._cache[i] = (img[0] * 255).round().to(torch.uint8)
        return self._cache[i]

    def _crop(self, img: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        x = img.float().unsqueeze(0) / 255
        lo, hi = self.scale
        short = self.size * (lo + (hi - lo) * torch.rand((), generator=gen).item())
        h, w = x.shape[-2:]
        s = short / min(h, w)
        nh, nw = max(self.size, round(h * s)), max(self.size, round(w * s))
        x = F.interpolate(x, size=(nh, nw), mode="bilinear", antialias=nh < h,
                          align_corners=False)
        top = int(torch.randint(0, nh - self.size + 1, (), generator=gen))
        left = int(torch.randint(0, nw - self.size + 1, (), generator=gen))
        x = x[..., top: top + self.size, left: left + self.size]
        if torch.rand((), generator=gen).item() < 0.5:
            x = x.flip(-1)
        return x.clamp(0, 1)

    def batch(self, n: int, gen: torch.Generator) -> torch.Tensor:
        """Draw ``n`` augmented crops, shape (n, 3, size, size), skipping unreadable files.

        Raises:
            DepthStyleError: if every file of the folder is unreadable.
        """
        out = []
        while len(out) < n:
            if len(self.bad) == len(self.files):
                raise DepthStyleError(f"all {len(self.files)} images under "
                                      f"{self.files[0].parent} are unreadable")
            i = int(torch.randint(0, len(self.files), (), generator=gen))
            img = self._get(i)
            if img is not None:
                out.append(self._crop(img, gen))
        return torch.cat(out)


def synthetic_proximity(n: int, size: int, gen: torch.Generator) -> torch.Tensor:
    """``n`` random scene-like proximity maps (n, 1, size, size) in [0, 1], 1 = near.

    A tilted ground plane (the bottom of a photo is usually nearest) with up to three smooth
    "objects" standing in front of it. Used to train the learned strength module on photo
    folders that come without depth maps.
    """
    y = torch.linspace(0, 1, size).view(1, size, 1)
    x = torch.linspace(0, 1, size).view(1, 1, size)
    out = []
    for _ in range(n):
        r = torch.rand(12, generator=gen)
        p = 0.6 * (y + (r[0] - 0.5) * 0.6 * (x - 0.5))
        for k in range(int(r[1] * 4)):
            cx, cy, rad, height = r[2 + k], r[5 + k], 0.08 + 0.25 * r[8 + k], 0.5 + 0.5 * r[11]
            blob = height * torch.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * rad ** 2))
            p = torch.maximum(p, blob)
        p = p - p.amin()
        out.append(p / p.amax().clamp_min(1e-6))
    return torch.stack(out)
