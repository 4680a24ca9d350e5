"""Texture statistics match: give the output the painting's luminance texture, scale by scale.

A pyramid histogram match in the manner of Heeger & Bergen, "Pyramid-Based Texture Analysis/
Synthesis", SIGGRAPH 1995: the stylized image's luminance is split into a Laplacian pyramid,
and each band but the finest into 4 oriented sub-bands (horizontal, vertical and the two
diagonal structure, by angular masks in the Fourier domain, as their steerable pyramid does);
each (sub-)band and the low-pass residual is mapped so that its histogram becomes the
painting's; the pyramid is collapsed; the luminance histogram itself is matched. As in their
method this runs twice, the second pass starting from the first one's result. Chrominance is
left as the decoder made it.

Why: a decoder fed only AdaIN's channel means and stds paints its own stroke contrast whatever
the painting. Matching band histograms sets the contrast of fine, middle and coarse structure
to the painting's (a smooth painting flattens the decoder's hatch, a rough one strengthens its
strokes), the oriented sub-bands move the balance of stroke directions towards the painting's
(histogram matching reshapes amplitudes; it cannot erase a decoder's hatch, only weaken it
where the painting has no such direction), and the luminance histogram sets the tonal range.
Docs: docs/method.md, section 5d.

Depth awareness: the output's quantiles are measured with each pixel weighted by its strength
(stylized regions count, photo regions do not), and the result is blended back by strength:
``out = lerp(image, matched, amount * S**3)``, the photo blend's cubic response mirrored
(near regions, at low S, keep their structure; docs/method.md 5d has the measurement). At
S = 0 the image is returned unchanged.

The painting's statistics are a (rows, Q) tensor of quantiles (the (sub-)bands fine to coarse,
the low-pass, the luminance), computed once per style. Mixing several styles averages their
quantiles, the 1-D Wasserstein barycentre of their histograms.

All functions are pure tensor operations; they never modify their inputs.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from depthstyle.color import rgb_to_yiq, yiq_to_rgb
from depthstyle.ops import normalise_masks, resize_map

__all__ = [
    "DEFAULT_TEXTURE_MATCH",
    "TEXTURE_LEVELS",
    "TEXTURE_QUANTILES",
    "TEXTURE_ORIENTATIONS",
    "TEXTURE_ITERATIONS",
    "laplacian_pyramid",
    "collapse_pyramid",
    "orientation_split",
    "orientation_merge",
    "weighted_quantiles",
    "quantile_map",
    "texture_stats",
    "mix_texture_stats",
    "match_texture",
    "match_texture_styles",
]

DEFAULT_TEXTURE_MATCH = 1.0  # how far outputs take the painting's texture unless told otherwise
TEXTURE_LEVELS = 5  # Laplacian bands; chosen on the small validation split (docs/method.md 5d)
TEXTURE_QUANTILES = 65  # quantiles per histogram (every 1/64)
TEXTURE_ORIENTATIONS = 4  # oriented sub-bands per band, as in Heeger & Bergen's steerable pyramid
TEXTURE_ORIENTED_FROM = 1  # the finest band stays whole: splitting it too costs 4x its pixels
TEXTURE_ITERATIONS = 2  # analysis-match-synthesis passes (Heeger & Bergen iterate too)
TEXTURE_RESPONSE = 3  # the match blends in as S**3: 35 depth scenes, docs/method.md 5d
_MAX_SAMPLES = 4096  # pixels per histogram (64 per quantile step), a fixed random subset
_TABLE = 4096  # points at which quantile_map is tabulated


def _reduce(x: torch.Tensor) -> torch.Tensor:
    """A 5-tap binomial blur of (B, 1, H, W) taken at every second pixel.

    Returns (B, 1, ceil(H/2), ceil(W/2)). Borders are reflected (replicated if a side is under
    3). Only the kept pixels are computed, with shifted slices: a quarter of the work of
    blurring everywhere and subsampling.
    """
    mode = "reflect" if min(x.shape[-2:]) > 2 else "replicate"
    p = F.pad(x, (2, 2, 2, 2), mode=mode)
    ho, wo = (x.shape[-2] + 1) // 2, (x.shape[-1] + 1) // 2
    c = [p[..., t: t + 2 * wo - 1: 2] for t in range(5)]
    r = (c[0] + c[4]) + 4 * (c[1] + c[3]) + 6 * c[2]
    c = [r[..., t: t + 2 * ho - 1: 2, :] for t in range(5)]
    return ((c[0] + c[4]) + 4 * (c[1] + c[3]) + 6 * c[2]) / 256


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
        low = _reduce(g)
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


@functools.lru_cache(maxsize=32)
def _orientation_masks(h: int, w: int, k: int) -> torch.Tensor:
    """(k, h, w // 2 + 1) angular masks on the rfft2 grid that sum to 1 everywhere.

    Mask ``i`` is ``cos(theta - pi i / k) ** (2 (k - 1))`` (theta the frequency's direction),
    normalised: the square of the steerable pyramid's angular response, so that one mask
    passes what Heeger & Bergen's analysis-then-synthesis pair passes. With an even power
    below 2k the k masks sum to a constant, so they split a band exactly. They are even in
    frequency, so each sub-band of a real image is real.
    """
    fy = torch.fft.fftfreq(h)[:, None]
    fx = torch.fft.rfftfreq(w)[None, :]
    theta = torch.atan2(fy, fx).expand(h, -1).clone()
    if w % 2 == 0:  # the Nyquist column stands for +-1/2: its mask must be even in fy
        theta[:, -1] = torch.atan2(fy.abs()[:, 0], fx[0, -1])
    a = torch.stack([torch.cos(theta - math.pi * i / k) ** (2 * (k - 1)) for i in range(k)])
    return a / a.sum(0, keepdim=True)


def orientation_split(band: torch.Tensor, k: int) -> torch.Tensor:
    """Split (B, 1, H, W) into ``k`` oriented sub-bands, (B, k, H, W), that sum to ``band``.

    Sub-band ``i`` holds the structure whose gradients point along ``pi i / k`` (for k = 4:
    horizontal, one diagonal, vertical, the other diagonal); k = 1 returns ``band``. The
    filtering is done in the Fourier domain (so the image is treated as periodic); the last
    sub-band is ``band`` minus the others, which saves one inverse transform.
    """
    if k == 1:
        return band
    h, w = band.shape[-2:]
    spec = torch.view_as_real(torch.fft.rfft2(band.float()))
    masks = _orientation_masks(h, w, k)[: k - 1].to(band.device)
    parts = torch.fft.irfft2(torch.view_as_complex((spec * masks[..., None]).contiguous()),
                             s=(h, w))
    return torch.cat([parts, band - parts.sum(1, keepdim=True)], 1)


def orientation_merge(subbands: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`orientation_split`: (B, k, H, W) to (B, 1, H, W), their sum."""
    return subbands.sum(1, keepdim=True)


@functools.lru_cache(maxsize=64)
def _sample_index(n: int, k: int) -> torch.Tensor | None:
    """``k`` of ``n`` flat pixel indices, a fixed pseudo-random subset (sorted); None if n <= k.

    Random rather than a regular sub-grid, so that a periodic texture (a decoder's hatch) cannot
    alias with the grid; fixed, so that the same image always gets the same histogram.
    """
    if n <= k:
        return None
    g = torch.Generator().manual_seed(n)
    return torch.randperm(n, generator=g)[:k].sort().values


def _samples(t: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) flattened to (B, C H W), or to its _MAX_SAMPLES pixels of a fixed subset."""
    flat = t.flatten(1)
    idx = _sample_index(flat.shape[1], _MAX_SAMPLES)
    return flat if idx is None else flat[:, idx.to(flat.device)]


def weighted_quantiles(values: torch.Tensor, weights: torch.Tensor | None = None,
                       q: int = TEXTURE_QUANTILES) -> torch.Tensor:
    """``q`` evenly spaced quantiles (0 to 1) of each image's values, pixels weighted.

    Args:
        values: (B, 1, H, W).
        weights: (B, 1, H', W') non-negative, resized to (H, W); ``None`` = equal weights.
        q: number of quantiles (>= 2).

    Returns:
        (B, q), non-decreasing along q. An image with zero total weight gets its unweighted
        quantiles. Images over 4,096 pixels are measured on a fixed random subset of 4,096.
    """
    if q < 2:
        raise ValueError(f"need at least 2 quantiles, got {q}")
    v = _samples(values).float()
    if weights is None:
        w = torch.ones_like(v)
    else:
        w = _samples(resize_map(weights.float(), values.shape[-2:]))
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

    if x[0].numel() <= table:  # as few pixels as table points: map them exactly
        return _exact_quantile_map(x.reshape(b, -1).float().contiguous(), src, dst
                                   ).reshape(x.shape).to(x.dtype)
    lo, hi = compand(src[:, :1]), compand(src[:, -1:])
    grid = lo + (hi - lo) * torch.linspace(0, 1, table + 1, device=src.device)
    grid = grid.clamp(-1 + 1e-7, 1 - 1e-7)
    lut = _exact_quantile_map((mid + scale * grid / (1 - grid.abs())).contiguous(), src, dst)
    slope = lut.diff(dim=1)
    # u = table * (compand(x) - lo) / (hi - lo), in place to spare the allocations
    u = x.reshape(b, -1).float().sub(mid).div_(scale)
    u.div_(u.abs().add_(1)).sub_(lo).mul_(table / (hi - lo).clamp_min(1e-12)).clamp_(0, table)
    i0 = u.long().clamp_(max=table - 1)
    out = lut.gather(1, i0).addcmul_(u.sub_(i0), slope.gather(1, i0))
    return out.reshape(x.shape).to(x.dtype)


def _level_rows(band_rows: int, k: int, oriented_from: int) -> list[slice]:
    """The rows of each level's (sub-)bands among a statistics tensor's ``band_rows`` rows.

    One row for each of the first ``oriented_from`` levels, ``k`` for each level after them.
    """
    rows, start, level = [], 0, 0
    while start < band_rows:
        n = 1 if level < oriented_from else k
        rows.append(slice(start, start + n))
        start, level = start + n, level + 1
    if start != band_rows:
        raise ValueError(f"{band_rows} band rows do not fit {k} orientations from level "
                         f"{oriented_from}")
    return rows


def texture_stats(image: torch.Tensor, levels: int = TEXTURE_LEVELS,
                  q: int = TEXTURE_QUANTILES, orientations: int = TEXTURE_ORIENTATIONS,
                  oriented_from: int = TEXTURE_ORIENTED_FROM) -> torch.Tensor:
    """A painting's texture statistics: quantiles of its luminance pyramid and luminance.

    Args:
        image: (1, 3, H, W) RGB in [0, 1].

    Returns:
        (rows, q): the histograms of the L bands fine to coarse (L = ``levels``, fewer for
        tiny images), those from level ``oriented_from`` on as K = ``orientations`` oriented
        sub-bands each, then the low-pass residual's and the luminance's.
    """
    if image.ndim != 4 or image.shape[:2] != (1, 3):
        raise ValueError(f"texture_stats needs one (1, 3, H, W) image, got {tuple(image.shape)}")
    y = rgb_to_yiq(image.float())[:, :1]
    bands, low = laplacian_pyramid(y, levels)
    parts = [sb[:, i: i + 1] for lv, b in enumerate(bands)
             for sb in [orientation_split(b, 1 if lv < oriented_from else orientations)]
             for i in range(sb.shape[1])]
    return torch.cat([weighted_quantiles(t, None, q) for t in (*parts, low, y)])


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


def _match_oriented(band: torch.Tensor, strength: torch.Tensor, targets: torch.Tensor
                    ) -> torch.Tensor:
    """One (B, 1, H, W) band with each of its K oriented sub-bands given ``targets[i]``."""
    b, k = band.shape[0], targets.shape[0]
    sub = orientation_split(band, k).reshape(b * k, 1, *band.shape[-2:])
    weights = strength.repeat_interleave(k, 0)
    mapped = quantile_map(sub, weighted_quantiles(sub, weights), targets.repeat(b, 1))
    return orientation_merge(mapped.reshape(b, k, *band.shape[-2:]))


def match_texture(image: torch.Tensor, stats: torch.Tensor,
                  strength: torch.Tensor | float = 1.0, amount: float = 1.0,
                  orientations: int = TEXTURE_ORIENTATIONS,
                  oriented_from: int = TEXTURE_ORIENTED_FROM,
                  iterations: int = TEXTURE_ITERATIONS) -> torch.Tensor:
    """Give ``image`` the texture statistics ``stats`` where it is stylized.

    Args:
        image: (B, 3, H, W) RGB in [0, 1], the stylized output.
        stats: (rows, Q) from :func:`texture_stats` or :func:`mix_texture_stats`.
        strength: scalar or (B or 1, 1, H', W') in [0, 1]; weights the output's histograms and
            the blend back (resized to the image).
        amount: in [0, 1]; 0 returns ``image`` unchanged.
        orientations, oriented_from: as ``stats`` was made with (:func:`texture_stats`).
        iterations: analysis-match-synthesis passes; each pass starts from the last one's
            luminance, so the bands' histograms, which the collapse and the final luminance
            match disturb, come closer to the painting's.

    Returns:
        (B, 3, H, W) in [0, 1]: ``lerp(image, matched, amount * strength ** 3)``; exactly ``image``
        where that product is 0.
    """
    if image.ndim != 4 or image.shape[1] != 3:
        raise ValueError(f"match_texture needs (B, 3, H, W) images, got {tuple(image.shape)}")
    if not 0 <= amount <= 1:
        raise ValueError(f"amount must be in [0, 1], got {amount}")
    if stats.ndim != 2 or stats.shape[0] < 2:
        raise ValueError(f"texture statistics must be (rows, Q) with rows >= 2, got "
                         f"{tuple(stats.shape)}")
    rows = _level_rows(stats.shape[0] - 2, orientations, oriented_from)
    b, _, h, w = image.shape
    if isinstance(strength, torch.Tensor):
        s = resize_map(strength.float().to(image.device), (h, w)).expand(b, 1, h, w)
    else:
        s = torch.full((b, 1, h, w), float(strength), device=image.device)
    weight = s.pow(TEXTURE_RESPONSE) * amount
    if amount == 0 or not bool((weight > 0).any()):
        return image
    yiq = rgb_to_yiq(image.float())
    y = yiq[:, :1]
    stats = stats.to(image.device)
    at_size: dict[tuple, torch.Tensor] = {}  # the strength at each band's size, made once

    def weights(t: torch.Tensor) -> torch.Tensor:
        key = tuple(t.shape[-2:])
        if key not in at_size:
            at_size[key] = resize_map(s, key)
        return at_size[key]

    for _ in range(iterations):
        bands, low = laplacian_pyramid(y, len(rows))
        bands = [_match_oriented(band, weights(band), stats[r])
                 for band, r in zip(bands, rows, strict=False)]  # a tiny image has fewer
        low = quantile_map(low, weighted_quantiles(low, weights(low)), stats[-2])
        y = collapse_pyramid(bands, low)
        y = quantile_map(y, weighted_quantiles(y, s), stats[-1])
    matched = yiq_to_rgb(torch.cat([y, yiq[:, 1:]], 1))
    return torch.lerp(image.float(), matched, weight).clamp(0, 1).to(image.dtype)


def match_texture_styles(image: torch.Tensor, textures: Sequence[torch.Tensor],
                         strength: torch.Tensor, amount: float, *,
                         weights: Sequence[float] | None = None,
                         masks: torch.Tensor | None = None) -> torch.Tensor:
    """:func:`match_texture` for one style or several (mixed, or each in its own region).

    Without ``masks`` several styles' statistics are mixed by ``weights``
    (:func:`mix_texture_stats`). With region masks (B, K, H', W') each style's match acts in
    its region: ``image + sum_k (match_k(S * m_k) - image)``, the normalised masks summing to 1.
    """
    if masks is None:
        tex = textures[0] if len(textures) == 1 else mix_texture_stats(
            textures, weights or [1.0] * len(textures))
        return match_texture(image, tex, strength, amount)
    regions = normalise_masks(masks, image.shape[-2:])
    out = image
    for k, tex in enumerate(textures):
        out = out + match_texture(image, tex, strength * regions[:, k: k + 1], amount) - image
    return out.clamp(0, 1)
