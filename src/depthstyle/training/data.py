"""Training images: folder listing, in-memory cache, seeded augmentation.

Batches are drawn by a generator seeded from ``(seed, step)``, so a resumed run sees exactly the
batches it would have seen without interruption, and no data-loader state needs saving.
Unreadable files are skipped, counted and logged once; they never stop a run.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch
import torch.nn.functional as F

from depthstyle.errors import DepthStyleError, ImageReadError
from depthstyle.io import IMAGE_EXTENSIONS, load_image

__all__ = ["list_images", "ImageFolder"]

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


class ImageFolder:
    """Random crops from a folder of images, cached in memory as uint8 after the first read.

    Args:
        folder: image folder (searched recursively).
        size: side of the square crops.
        scale: range of the shorter side before cropping, as multiples of ``size`` (jitter).
        max_side: images are downscaled so their longer side is at most this when cached.
    """

    def __init__(self, folder: str | os.PathLike, size: int,
                 scale: tuple[float, float] = (1.0, 1.6), max_side: int = 640) -> None:
        self.files = list_images(folder)
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
