"""What the pipeline accepts, turned into what the engines take.

Images given as tensors or paths become (B, 3, H, W) RGB in [0, 1] at the working size;
proximity tensors, strength maps and region masks are checked and resized to the content. Each
function raises a clear :class:`ValueError` or :class:`~depthstyle.errors.SettingsError` before
any network runs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from depthstyle.engines import StrengthMaps
from depthstyle.errors import SettingsError
from depthstyle.io import load_image, resize_image
from depthstyle.ops import all_finite

__all__ = ["ImageLike", "as_image", "center_square", "proximity_tensor", "given_strength",
           "fit_masks"]

ImageLike = torch.Tensor | str | os.PathLike


def as_image(img: ImageLike, size: int | None, *, max_pixels: int) -> torch.Tensor:
    """A tensor or an image file as (B, 3, H, W) RGB in [0, 1], its longer side at most ``size``.

    Raises:
        ValueError: a tensor of the wrong shape or with NaN/inf values.
        ImageReadError: an unreadable or too large file (:func:`depthstyle.io.load_image`).
    """
    if isinstance(img, torch.Tensor):
        if img.ndim == 3:
            img = img.unsqueeze(0)
        if img.ndim != 4 or img.shape[1] != 3:
            raise ValueError(f"images must be (B, 3, H, W) RGB, got {tuple(img.shape)}")
        if not all_finite(img):
            raise ValueError("image tensor contains NaN or infinite values")
        t = img.detach().float().cpu().clamp(0, 1)
    else:
        t = load_image(img, max_pixels=max_pixels)
    return resize_image(t, size, upscale=False) if size else t


def center_square(img: torch.Tensor) -> torch.Tensor:
    """The largest centred square of ``img`` (B, C, H, W)."""
    h, w = img.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return img[..., top: top + side, left: left + side]


def proximity_tensor(p: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """A caller's proximity (H, W), (B, H, W) or (B, 1, H, W) as (B, 1, H, W) at ``size``."""
    shape = tuple(p.shape)
    p = p.float()
    p = p[None, None] if p.ndim == 2 else p[None] if p.ndim == 3 else p
    if p.ndim != 4 or p.shape[1] != 1:
        raise ValueError(f"proximity must be (B, 1, H, W), got {shape}")
    if not all_finite(p):
        raise ValueError("proximity tensor contains NaN or infinite values")
    p = p.cpu()
    if p.shape[-2:] != tuple(size):
        p = F.interpolate(p, size=tuple(size), mode="bilinear", align_corners=False)
    return p.clamp(0, 1)


def given_strength(strength: StrengthMaps, size: Sequence[int]) -> StrengthMaps:
    """Check and resize a caller's strength map (or per-level maps) to the content's size."""
    maps = strength if isinstance(strength, list) else [strength]
    out = []
    for s in maps:
        if not isinstance(s, torch.Tensor) or s.ndim != 4 or not all_finite(s):
            raise ValueError(f"strength must be a finite (B, 1, H, W) map, got "
                             f"{getattr(s, 'shape', type(s).__name__)}")
        out.append(F.interpolate(s.float().cpu(), size=tuple(size), mode="bilinear",
                                 align_corners=False).clamp(0, 1))
    if not isinstance(strength, list) and out[0].shape[1] != 1:
        raise ValueError(f"strength must be (B, 1, H, W), got {tuple(strength.shape)}")
    return out if isinstance(strength, list) else out[0]


def fit_masks(masks: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Region masks resized to the content; resized, never stretched (as for depth maps).

    Raises:
        SettingsError: the masks' aspect ratio differs from the content's by over 2 %.
    """
    mh, mw = masks.shape[-2:]
    h, w = size
    if abs(mw / mh - w / h) > 0.02 * (w / h):
        raise SettingsError(f"mask aspect ratio {mw}x{mh} does not match the content {w}x{h}")
    return F.interpolate(masks.float(), size=tuple(size), mode="bilinear", align_corners=False)
