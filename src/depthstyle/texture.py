"""Texture statistics match: give the output the painting's luminance texture, scale by scale.

A pyramid histogram match in the manner of Heeger & Bergen, "Pyramid-Based Texture Analysis/
Synthesis", SIGGRAPH 1995: the stylized image's luminance is split into a Laplacian pyramid;
each band (and the low-pass residual) is mapped so that its histogram becomes the painting's
band histogram; the pyramid is collapsed; finally the luminance histogram itself is matched.
Chrominance is left as the decoder made it.

Why: a decoder fed only AdaIN's channel means and stds paints its own stroke contrast whatever
the painting. Matching band histograms sets the contrast of fine, middle and coarse structure
to the painting's (a smooth painting flattens the decoder's hatch, a rough one strengthens its
strokes), and the luminance histogram sets the tonal range. Docs: docs/method.md, section 5d.

Depth awareness: the output's quantiles are measured with each pixel weighted by its strength
(stylized regions count, photo regions do not), and the result is blended back by strength:
``out = lerp(image, matched, amount * S)``. At S = 0 the image is returned unchanged.

The painting's statistics are a (levels + 2, Q) tensor of quantiles (bands fine to coarse, the
low-pass, the luminance), computed once per style. Mixing several styles averages their
quantiles, the 1-D Wasserstein barycentre of their histograms.

All functions are pure tensor operations; they never modify their inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from depthstyle.color import rgb_to_yiq, yiq_to_rgb
from depthstyle.ops import resize_map

__all__ = [
    "DEFAULT_TEXTURE_MATCH",
    "TEXTURE_LEVELS",
    "TEXTURE_QUANTILES",
    "laplacian_pyramid",
    "collapse_pyramid",
    "weighted_quantiles",
    "quantile_map",
    "texture_stats",
    "mix_texture_stats",
    "match_texture",
]

DEFAULT_TEXTURE_MATCH = 1.0  # how far outputs take the painting's texture unless told otherwise
TEXTURE_LEVELS = 5  # Laplacian bands; chosen on the small validation split (docs/method.md 5d)
TEXTURE_QUANTILES = 65  # quantiles per histogram (every 1/64)
_MAX_SAMPLES = 16_384  # pixels per histogram, taken on a regular grid
_TABLE = 4096  # points at which quantile_map is tabulated
_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16


def _blur(x: torch.Tensor) -> torch.Tensor:
    """Separable 5-tap binomial blur of (B, 1, H, W), reflected borders (replicated if tiny)."""
    mode = "reflect" if min(x.shape[-2:]) > 2 else "replicate"
    k = _BINOMIAL.to(x)
    x = F.pad(x, (2, 2, 2, 2), mode=mode)
    x = F.conv2d(x, k.view(1, 1, 1, 5))
    return F.conv2d(x, k.view(1, 1, 5, 1))


def laplacian_pyramid(y: torch.Tensor, levels: int) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Split (B, 1, H, W) into ``levels`` band-pass images (fine first) and a low-pass residual.

    Each band is ``g - up(down(blur(g)))`` at its level's size, so :func:`collapse_pyramid`
    gives ``y`` back exactly (up to rounding). Levels stop early when a side would fall below 2.
    """
    if y.ndim != 4 or y.shape[1] != 1:
        raise ValueError(f"laplacian_pyramid needs (B, 1, H, W), got {tuple(y.shape)}")
    bands, g = [], y
    for _ in range(levels):
        if min(g.shape[-2:]) < 4:
            break
        low = _blur(g)[..., ::2, ::2]
        bands.append(g - F.interpolate(low, size=g.shape[-2:], mode="bilinear",
                                       align_corners=False))
        g = low
    return bands, g


def collapse_pyramid(bands: Sequence[torch.Tensor], low: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`laplacian_pyramid`."""
    g = low
    for b in reversed(bands):
        g = F.interpolate(g, size=b.shape[-2:], mode="bilinear", align_corners=False) + b
    return g


def _grid_sample(t: torch.Tensor) -> torch.Tensor:
    """A regular sub-grid of (B, C, H, W) with at most _MAX_SAMPLES pixels per image."""
    step = 1
    while (t.shape[-2] // step) * (t.shape[-1] // step) > _MAX_SAMPLES:
        step += 1
    return t[..., ::step, ::step]


def weighted_quantiles(values: torch.Tensor, weights: torch.Tensor | None = None,
                       q: int = TEXTURE_QUANTILES) -> torch.Tensor:
    """``q`` evenly spaced quantiles (0 to 1) of each image's values, pixels weighted.

    Args:
        values: (B, 1, H, W).
        weights: (B, 1, H', W') non-negative, resized to (H, W); ``None`` = equal weights.
        q: number of quantiles (>= 2).

    Returns:
        (B, q), non-decreasing along q. An image with zero total weight gets its unweighted
        quantiles. Large images are measured on a regular sub-grid of about 16k pixels.
    """
    if q < 2:
        raise ValueError(f"need at least 2 quantiles, got {q}")
    v = _grid_sample(values).flatten(1).float()
    if weights is None:
        w = torch.ones_like(v)
    else:
        w = _grid_sample(resize_map(weights.float(), values.shape[-2:])).flatten(1)
        w = w.clamp_min(0)
        w = torch.where(w.sum(1, keepdim=True) > 1e-6, w, torch.ones_like(w))
    # weighted samples first (by value), the zero-weight ones after them, out of reach
    span = (v.amax(1, keepdim=True) - v.amin(1, keepdim=True)) + 1
    _, order = (v + (w <= 0) * 2 * span).sort(1)
    v, w = v.gather(1, order), w.gather(1, order)
    cum = w.cumsum(1)
    pos = torch.where(w > 0, (cum - 0.5 * w) / cum[:, -1:], 2.0)  # mid-points on [0, 1]
    last = (w > 0).sum(1, keepdim=True) - 1
    levels = torch.linspace(0, 1, q, device=v.device).expand(v.shape[0], q).contiguous()
    hi = torch.minimum(torch.searchsorted(pos.contiguous(), levels).clamp_min(1), last)
    lo = (hi - 1).clamp_min(0)
    p0, p1 = pos.gather(1, lo), pos.gather(1, hi)
    t = ((levels - p0) / (p1 - p0).clamp_min(1e-12)).clamp(0, 1)
    return torch.lerp(v.gather(1, lo), v.gather(1, hi), t)


def _exact_quantile_map(x: torch.Tensor, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """:func:`quantile_map` on (B, N) values, evaluated knot by knot (two binary searches)."""
    n = src.shape[1]
    left = torch.searchsorted(src, x, right=False)
    right = torch.searchsorted(src, x, right=True)
    hi = left.clamp(1, n - 1)
    x0, x1 = src.gather(1, hi - 1), src.gather(1, hi)
    inside = (hi - 1) + ((x - x0) / (x1 - x0).clamp_min(1e-12)).clamp(0, 1)
    pos = torch.where(right > left, (left + right - 1).float() / 2, inside)
    i0 = pos.floor().long().clamp(0, n - 1)
    i1 = (i0 + 1).clamp(max=n - 1)
    return torch.lerp(dst.gather(1, i0), dst.gather(1, i1), pos - i0)


def quantile_map(x: torch.Tensor, source: torch.Tensor, target: torch.Tensor,
                 table: int = _TABLE) -> torch.Tensor:
    """The monotone piecewise-linear map that sends ``source`` quantiles to ``target``'s.

    Args:
        x: (B, 1, H, W) values.
        source, target: (B or 1, Q) non-decreasing quantiles (``source`` those of ``x``).
        table: the map is tabulated at ``table + 1`` points spread over the source range
            (evenly in ``z / (1 + |z|)``, z the distance to the median in interquartile
            ranges) and interpolated linearly: four times faster than searching the knots for
            every pixel, and close to the exact map even for heavy-tailed bands.

    Returns:
        (B, 1, H, W). Values outside the source range go to the target's ends; a value that
        several source quantiles share (a flat image) goes to the middle of their targets.
    """
    b = x.shape[0]
    src = source.float().expand(b, -1).contiguous()
    dst = target.float().to(src.device).expand(b, -1)
    n = src.shape[1]
    # tabulate in companded coordinates c(z) = z / (1 + |z|), z the distance to the median in
    # interquartile ranges, so that the many knots of a heavy-tailed band near its centre get as
    # fine a table as its sparse tails
    mid = src[:, n // 2: n // 2 + 1]
    scale = (src[:, (3 * n) // 4: (3 * n) // 4 + 1] - src[:, n // 4: n // 4 + 1]).clamp_min(1e-6)

    def compand(v: torch.Tensor) -> torch.Tensor:
        z = (v - mid) / scale
        return z / (1 + z.abs())

    lo, hi = compand(src[:, :1]), compand(src[:, -1:])
    grid = lo + (hi - lo) * torch.linspace(0, 1, table + 1, device=src.device)
    grid = grid.clamp(-1 + 1e-7, 1 - 1e-7)
    lut = _exact_quantile_map((mid + scale * grid / (1 - grid.abs())).contiguous(), src, dst)
    u = ((compand(x.reshape(b, -1).float()) - lo) / (hi - lo).clamp_min(1e-12)).clamp(0, 1)
    u = u * table
    i0 = u.long().clamp(max=table - 1)
    out = torch.lerp(lut.gather(1, i0), lut.gather(1, i0 + 1), u - i0)
    return out.reshape(x.shape).to(x.dtype)


def texture_stats(image: torch.Tensor, levels: int = TEXTURE_LEVELS,
                  q: int = TEXTURE_QUANTILES) -> torch.Tensor:
    """A painting's texture statistics: quantiles of its luminance pyramid and luminance.

    Args:
        image: (1, 3, H, W) RGB in [0, 1].

    Returns:
        (L + 2, q): the L band histograms fine to coarse (L = ``levels``, fewer for tiny
        images), the low-pass residual's, then the luminance's.
    """
    if image.ndim != 4 or image.shape[:2] != (1, 3):
        raise ValueError(f"texture_stats needs one (1, 3, H, W) image, got {tuple(image.shape)}")
    y = rgb_to_yiq(image.float())[:, :1]
    bands, low = laplacian_pyramid(y, levels)
    return torch.cat([weighted_quantiles(t, None, q) for t in (*bands, low, y)])


def mix_texture_stats(stats: Sequence[torch.Tensor], weights: Sequence[float]) -> torch.Tensor:
    """Several paintings' statistics combined: the weighted mean of their quantiles.

    Averaging quantile functions gives the 1-D Wasserstein barycentre of the histograms. When
    the paintings' pyramids have different depths (a tiny style image), the shallower depth is
    used for all.
    """
    if len(stats) != len(weights) or not stats:
        raise ValueError(f"need one weight per style: {len(stats)} styles, {len(weights)} weights")
    w = torch.tensor([float(x) for x in weights], dtype=torch.float64)
    if (w < 0).any() or not torch.isfinite(w).all() or w.sum() <= 0:
        raise ValueError(f"style weights must be non-negative with a positive sum, got "
                         f"{list(weights)}")
    w = (w / w.sum()).tolist()
    rows = min(s.shape[0] for s in stats)
    trimmed = [torch.cat([s[: rows - 2], s[-2:]]) for s in stats]  # keep low-pass + luminance
    return sum(wi * s for wi, s in zip(w, trimmed, strict=True))


def match_texture(image: torch.Tensor, stats: torch.Tensor,
                  strength: torch.Tensor | float = 1.0, amount: float = 1.0) -> torch.Tensor:
    """Give ``image`` the texture statistics ``stats`` where it is stylized.

    Args:
        image: (B, 3, H, W) RGB in [0, 1], the stylized output.
        stats: (L + 2, Q) from :func:`texture_stats` or :func:`mix_texture_stats`.
        strength: scalar or (B or 1, 1, H', W') in [0, 1]; weights the output's histograms and
            the blend back (resized to the image).
        amount: in [0, 1]; 0 returns ``image`` unchanged.

    Returns:
        (B, 3, H, W) in [0, 1]: ``lerp(image, matched, amount * strength)``; exactly ``image``
        where that product is 0.
    """
    if image.ndim != 4 or image.shape[1] != 3:
        raise ValueError(f"match_texture needs (B, 3, H, W) images, got {tuple(image.shape)}")
    if not 0 <= amount <= 1:
        raise ValueError(f"amount must be in [0, 1], got {amount}")
    if stats.ndim != 2 or stats.shape[0] < 2:
        raise ValueError(f"texture statistics must be (levels + 2, Q), got {tuple(stats.shape)}")
    b, _, h, w = image.shape
    if isinstance(strength, torch.Tensor):
        s = resize_map(strength.float().to(image.device), (h, w)).expand(b, 1, h, w)
    else:
        s = torch.full((b, 1, h, w), float(strength), device=image.device)
    weight = s * amount
    if amount == 0 or not bool((weight > 0).any()):
        return image
    yiq = rgb_to_yiq(image.float())
    y = yiq[:, :1]
    bands, low = laplacian_pyramid(y, stats.shape[0] - 2)
    stats = stats.to(image.device)
    bands = [quantile_map(t, weighted_quantiles(t, s), stats[k]) for k, t in enumerate(bands)]
    low = quantile_map(low, weighted_quantiles(low, s), stats[-2])
    y = collapse_pyramid(bands, low)
    y = quantile_map(y, weighted_quantiles(y, s), stats[-1])
    matched = yiq_to_rgb(torch.cat([y, yiq[:, 1:]], 1))
    return torch.lerp(image.float(), matched, weight).clamp(0, 1).to(image.dtype)
