"""Depth or disparity values -> proximity in [0, 1] (1 = nearest).

Conversion happens here, once, at the edge of the library:

* ``kind="depth"`` (larger = farther, e.g. metres or millimetres): ``P = (D_max - D) / (D_max -
  D_min)``, the paper's linear flip;
* ``kind="disparity"`` (larger = nearer; also inverse depth from MiDaS/Depth Anything):
  ``P = (D - D_min) / (D_max - D_min)``.

``D_min``/``D_max`` are robust extremes (the 1st and 99th percentiles of valid values) so a few
outliers don't flatten the map. Invalid values (NaN, +-inf, and non-positive values, which
ground-truth sensors use for "unknown") are filled from their valid neighbours. A map with no
valid value is an error; a map with a single valid value is flat (no depth information).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from depthstyle.errors import DepthMapError

__all__ = ["DepthKind", "proximity_from_values", "fill_invalid", "normalize_proximity"]

DepthKind = Literal["depth", "disparity"]
_QUANTILES = (0.01, 0.99)


def _box_sum(x: torch.Tensor, k: int) -> torch.Tensor:
    """Sum of ``x`` over the k x k window centred on each pixel (zeros outside), in float64.

    An integral image: the cost does not grow with ``k`` (``avg_pool2d`` grows with k²).
    """
    r = k // 2
    h, w = x.shape[-2:]
    xp = F.pad(x.double(), (r + 1, r, r + 1, r))  # one extra zero row/column for the integral
    ii = xp.cumsum(-1).cumsum(-2)
    return ii[..., k:k + h, k:k + w] - ii[..., :h, k:k + w] - ii[..., k:k + h, :w] + \
        ii[..., :h, :w]


def fill_invalid(values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Fill invalid pixels with an average of valid ones nearby (growing windows).

    Args:
        values: (B, 1, H, W) float.
        valid: (B, 1, H, W) bool.

    Returns:
        ``values`` with every invalid pixel replaced; images with no valid pixel are left at 0.
    """
    out = torch.where(valid, values, torch.zeros_like(values))
    m = valid.to(values.dtype)
    k = 3
    limit = 2 * max(values.shape[-2:]) + 1  # a window this wide reaches every pixel
    while bool((m == 0).any()):
        num = _box_sum(out * m, k)
        den = _box_sum(m, k)
        newly = (m == 0) & (den > 0.5)  # den counts valid pixels: 0 or at least 1
        if not bool(newly.any()):  # only images without any valid pixel are left
            break
        out = torch.where(newly, (num / den.clamp_min(1.0)).to(values.dtype), out)
        m = torch.where(newly, torch.ones_like(m), m)
        k = min(2 * k + 1, limit)
    return out


def normalize_proximity(p: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Robust per-image min-max normalisation of a proximity-like map to [0, 1].

    Flat maps (no spread between the robust extremes) become all zeros.
    """
    b = p.shape[0]
    out = torch.empty_like(p)
    for i in range(b):
        vals = p[i][valid[i]] if valid is not None else p[i].flatten()
        if vals.numel() == 0:
            out[i] = 0
            continue
        sample = vals if vals.numel() <= 1_000_000 else vals[:: vals.numel() // 1_000_000 + 1]
        lo, hi = torch.quantile(sample.float(), torch.tensor(_QUANTILES, dtype=torch.float32,
                                                             device=p.device)).tolist()
        if hi - lo <= 1e-12 * max(1.0, abs(hi)):
            lo, hi = float(vals.min()), float(vals.max())
        if hi - lo <= 1e-12 * max(1.0, abs(hi)):
            out[i] = 0
        else:
            out[i] = ((p[i] - lo) / (hi - lo)).clamp(0, 1)
    return out


def proximity_from_values(values: np.ndarray | torch.Tensor, kind: DepthKind, *,
                          size: tuple[int, int] | None = None, name: str = "depth map"
                          ) -> torch.Tensor:
    """Convert a raw depth or disparity map to proximity (1, 1, H, W) in [0, 1].

    Args:
        values: (H, W) array or (B, 1, H, W) tensor of raw values.
        kind: ``"depth"`` (larger = farther) or ``"disparity"`` (larger = nearer).
        size: output (H, W); the map is resized with bilinear interpolation after filling holes.
        name: used in error messages (e.g. the file name).

    Raises:
        DepthMapError: unknown kind, wrong shape, or no valid value at all.
    """
    if kind not in ("depth", "disparity"):
        raise DepthMapError(f"{name}: kind must be 'depth' or 'disparity', got {kind!r}")
    t = torch.as_tensor(np.asarray(values) if not isinstance(values, torch.Tensor) else values)
    t = t.to(torch.float32)
    if t.ndim == 2:
        t = t[None, None]
    if t.ndim != 4 or t.shape[1] != 1:
        raise DepthMapError(f"{name}: expected an (H, W) map, got shape {tuple(t.shape)}")
    valid = torch.isfinite(t) & (t > 0)
    if not bool(valid.any()):
        raise DepthMapError(f"{name}: no valid values (all NaN, infinite or <= 0)")
    if kind == "depth":
        t = -t  # larger = nearer; the offset is removed by the normalisation
    p = normalize_proximity(torch.where(valid, t, torch.zeros_like(t)), valid)
    p = fill_invalid(p, valid)
    if size is not None and tuple(p.shape[-2:]) != tuple(size):
        p = F.interpolate(p, size=tuple(size), mode="bilinear", align_corners=False)
    return p.clamp(0, 1)
