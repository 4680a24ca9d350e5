"""Pure tensor operations of arbitrary style transfer.

* :func:`calc_mean_std`, :func:`adain` - Huang & Belongie, "Arbitrary Style Transfer in Real-time
  with Adaptive Instance Normalization", ICCV 2017, eq. 8.
* :func:`blend` - per-pixel interpolation between content and stylized features (the depth-aware
  strength of Kitov et al., arXiv 1906.01123, and the global alpha of AdaIN).
* :func:`restyle`, :func:`strength_at_level`, :func:`restyle_encode` - *the* restyle step of the
  product, written once: at each selected encoder level the features become
  ``lerp(f, AdaIN(f, s), S_l)`` before the next stage runs. The torch engine, the ONNX export
  graph and both trainers call these.
* :func:`photo_blend` (one decoder pass, the default) and :func:`detail_residual` (two passes) -
  give the photo back where strength is low (docs/method.md, section 5b).
* :func:`mix_style_stats`, :func:`masked_adain` - style interpolation and spatial control
  (Huang & Belongie 2017, section 7.1).

Colour preservation is in :mod:`depthstyle.color`.

All functions are differentiable, device-agnostic and never modify their inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "all_finite",
    "calc_mean_std",
    "adain",
    "adain_from_stats",
    "resize_map",
    "blend",
    "strength_at_level",
    "restyle",
    "restyle_encode",
    "detail_residual",
    "photo_blend",
    "BLEND_POWER",
    "mix_style_stats",
    "normalise_masks",
    "masked_style_stats",
    "masked_adain",
    "AdaIN",
]

_EPS = 1e-5
BLEND_POWER = 3.0  # photo weight (1 - S) ** 3: docs/method.md 5b, chosen by a strength sweep


def _check_features(x: torch.Tensor, name: str) -> None:
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (B, C, H, W), got {tuple(x.shape)}")


def all_finite(t: torch.Tensor) -> bool:
    """Whether every value of ``t`` is finite (no NaN, no ±inf); True for an empty tensor.

    One min/max reduction (NaN propagates through both, an infinity shows in one of them),
    much cheaper on the CPU than ``torch.isfinite(t).all()``, which first materialises a
    boolean tensor of the input's size. Integer and bool tensors are always finite.
    """
    if t.numel() == 0 or not (t.is_floating_point() or t.is_complex()):
        return True
    x = torch.view_as_real(t.detach()) if t.is_complex() else t.detach()
    lo, hi = torch.aminmax(x)
    return bool(torch.isfinite(lo) & torch.isfinite(hi))


def calc_mean_std(feat: torch.Tensor, eps: float = _EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """Channel-wise mean and standard deviation over the spatial dimensions.

    Args:
        feat: (B, C, H, W) features.
        eps: added to the variance before the square root (keeps gradients finite).

    Returns:
        ``(mean, std)``, each (B, C, 1, 1). std uses the population variance (ddof 0).

    Example:
        >>> m, s = calc_mean_std(torch.ones(1, 2, 4, 4))
        >>> m.flatten().tolist(), s.shape
        ([1.0, 1.0], torch.Size([1, 2, 1, 1]))
    """
    _check_features(feat, "feat")
    var = feat.var(dim=(2, 3), keepdim=True, unbiased=False)
    return feat.mean(dim=(2, 3), keepdim=True), torch.sqrt(var + eps)


def adain_from_stats(
    content: torch.Tensor, style_mean: torch.Tensor, style_std: torch.Tensor, eps: float = _EPS,
    content_stats: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """AdaIN with precomputed style statistics (see :func:`adain`).

    ``style_mean`` and ``style_std`` are (B or 1, C, 1, 1) or (B or 1, C, H, W) (spatially varying
    statistics, as produced by :func:`masked_adain`). ``content_stats`` replaces the content's
    own mean/std (e.g. the statistics of the whole image when ``content`` is one tile of it).
    """
    mean, std = content_stats if content_stats is not None else calc_mean_std(content, eps)
    return (content - mean) / std * style_std + style_mean


def adain(content: torch.Tensor, style: torch.Tensor, eps: float = _EPS) -> torch.Tensor:
    """Adaptive instance normalisation: give ``content`` the channel mean/std of ``style``.

    Args:
        content: (B, C, H, W) content features.
        style: (B or 1, C, H', W') style features; spatial size may differ.

    Returns:
        (B, C, H, W) features whose per-channel mean equals the style's and whose std equals the
        style's (up to ``eps``).

    Raises:
        ValueError: if shapes are not 4-D or channel counts differ.
    """
    _check_features(content, "content")
    _check_features(style, "style")
    if content.shape[1] != style.shape[1]:
        raise ValueError(
            f"content has {content.shape[1]} channels but style has {style.shape[1]}"
        )
    s_mean, s_std = calc_mean_std(style, eps)
    return adain_from_stats(content, s_mean, s_std, eps)


def blend(content: torch.Tensor, stylized: torch.Tensor, strength: torch.Tensor | float
          ) -> torch.Tensor:
    """Per-pixel interpolation ``strength * stylized + (1 - strength) * content``.

    Args:
        content, stylized: (B, C, H, W) features of the same shape.
        strength: scalar or (B or 1, 1, H', W') map in [0, 1]; a map is resized to (H, W)
            with bilinear interpolation (area when shrinking by an integer factor).

    Returns:
        (B, C, H, W). With strength 0 the result is exactly ``content``.
    """
    if content.shape != stylized.shape:
        raise ValueError(f"shapes differ: {tuple(content.shape)} vs {tuple(stylized.shape)}")
    if isinstance(strength, torch.Tensor) and strength.ndim == 4:
        strength = resize_map(strength, content.shape[-2:])
    return torch.lerp(content, stylized, strength) if isinstance(strength, torch.Tensor) \
        else content + (stylized - content) * float(strength)


def resize_map(m: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Resize a (B, 1, H, W) map to ``size``: area averaging when shrinking, bilinear otherwise."""
    size = (int(size[0]), int(size[1]))
    if tuple(m.shape[-2:]) == size:
        return m
    if m.shape[-2] >= size[0] and m.shape[-1] >= size[1]:
        return F.adaptive_avg_pool2d(m, size)
    return F.interpolate(m, size=size, mode="bilinear", align_corners=False)


def strength_at_level(strength: torch.Tensor | float, stride: int) -> torch.Tensor | float:
    """A full-resolution strength map averaged over ``stride`` x ``stride`` cells.

    This is area resizing to the feature grid of a tap with that stride (the input is padded to
    a multiple of the deepest stride, so every cell is whole). ``avg_pool2d`` with a static
    kernel keeps the step exportable to ONNX with dynamic image sizes.

    Args:
        strength: scalar, or (B, 1 or G, H, W) with H and W multiples of ``stride``.
        stride: the tap's downsampling factor (>= 1).
    """
    if not isinstance(strength, torch.Tensor) or stride == 1:
        return strength
    return F.avg_pool2d(strength, stride)


def restyle(feat: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
            strength: torch.Tensor | float,
            content_stats: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """The per-level restyle step: ``lerp(feat, AdaIN(feat; mean, std), strength)``.

    Args:
        feat: (B, C, h, w) content features of one tap.
        mean, std: the style's statistics, (B or 1, C, 1, 1), or (B, C, h, w) for spatially
            varying styles (see :func:`masked_style_stats`).
        strength: scalar, or (B or 1, 1 or G, h, w) at the feature grid (see
            :func:`strength_at_level`); G channel groups (learned strength) split the C channels
            into G equal consecutive groups.
        content_stats: the content's own mean/std, e.g. the whole image's when ``feat`` is one
            tile of it (default: ``feat``'s).

    Returns:
        (B, C, h, w); exactly ``feat`` where strength is 0, ``AdaIN`` where it is 1.
    """
    dtype, feat = feat.dtype, feat.float()  # statistics in float32 even for half features
    target = adain_from_stats(feat, mean, std, content_stats=content_stats)
    if isinstance(strength, torch.Tensor):
        if strength.shape[-2:] != feat.shape[-2:]:
            raise ValueError(f"strength map {tuple(strength.shape)} is not at the feature grid "
                             f"{tuple(feat.shape[-2:])}; resize it with strength_at_level")
        if strength.shape[1] > 1:
            if feat.shape[1] % strength.shape[1]:
                raise ValueError(f"{strength.shape[1]} strength groups do not divide "
                                 f"{feat.shape[1]} channels")
            strength = strength.repeat_interleave(feat.shape[1] // strength.shape[1], dim=1)
        return torch.lerp(feat, target, strength.float()).to(dtype)
    return (feat + (target - feat) * float(strength)).to(dtype)


def restyle_encode(stages: Sequence, image: torch.Tensor, strides: Sequence[int],
                   style_stats: Sequence[tuple[torch.Tensor, torch.Tensor]],
                   strength: torch.Tensor | float | Sequence[torch.Tensor],
                   levels: Sequence[int],
                   content_stats: dict[int, tuple[torch.Tensor, torch.Tensor]] | None = None,
                   ) -> list[torch.Tensor]:
    """Run encoder stages, restyling the features of each level in ``levels`` before going on.

    Args:
        stages: the encoder's stages (callables), tap 0 first; all of them are run.
        image: (B, 3, H, W) RGB in [0, 1], H and W multiples of the deepest stride.
        strides: stride of each stage's tap.
        style_stats: per level, the style's ``(mean, std)`` (see :func:`restyle`).
        strength: one full-resolution map (or scalar) for every level, or one map per stage
            (learned strength, each (B, G, H, W)).
        levels: 0-based levels to restyle; the others pass through unchanged.
        content_stats: per level, whole-image content statistics (tiling).

    Returns:
        The features of every stage, shallow to deep, restyled where selected: what the
        decoder reads.
    """
    feats = []
    x = image
    for i, stage in enumerate(stages):
        x = stage(x)
        if i in levels:
            s = strength[i] if isinstance(strength, (list, tuple)) else strength
            cs = content_stats.get(i) if content_stats else None
            mean, std = style_stats[i]
            x = restyle(x, mean, std, strength_at_level(s, strides[i]), cs)
        feats.append(x)
    return feats


def detail_residual(stylized: torch.Tensor, content: torch.Tensor,
                    reconstruction: torch.Tensor, strength: torch.Tensor | float
                    ) -> torch.Tensor:
    """Give back the detail the decoder loses, in proportion to ``1 - strength``.

    ``out = stylized + (1 - S) * (content - reconstruction)``, where ``reconstruction`` is the
    decoder's output for the unrestyled content features. Where S = 0 the output is exactly the
    content; where S = 1 it is the unchanged stylization (docs/method.md, section 5b).

    Args:
        stylized, content, reconstruction: (B, 3, H, W).
        strength: scalar or (B or 1, 1, H, W) at the image's size.
    """
    if isinstance(strength, torch.Tensor):
        strength = strength.to(stylized.dtype)
    return stylized + (1 - strength) * (content - reconstruction)


def photo_blend(stylized: torch.Tensor, content: torch.Tensor, strength: torch.Tensor | float,
                power: float | None = None) -> torch.Tensor:
    """Give the photo back where strength is low, from the stylized output alone (one pass).

    ``out = lerp(stylized, content, (1 - S) ** power)``: exactly the content where S = 0,
    exactly the stylization where S = 1. Unlike :func:`detail_residual` it needs no second
    decoder pass for the reconstruction; with ``power`` 3 the SSIM to the photo follows the
    residual's from S = 0.6 up and the style distance from S = 0.8 up (docs/method.md, section
    5b, has the sweep).

    Args:
        stylized, content: (B, 3, H, W).
        strength: scalar or (B or 1, 1, H, W) at the image's size, in [0, 1].
        power: > 0; larger keeps less of the photo at intermediate strength (default
            :data:`BLEND_POWER`, read at call time).
    """
    power = BLEND_POWER if power is None else power
    if not power > 0:
        raise ValueError(f"power must be > 0, got {power}")
    if isinstance(strength, torch.Tensor):
        weight = (1 - strength.to(stylized.dtype)) ** power
    else:
        weight = torch.tensor((1 - float(strength)) ** power, dtype=stylized.dtype)
    return torch.lerp(stylized, content.to(stylized.dtype), weight.to(stylized.device))


def normalise_masks(masks: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """(B, K, H', W') soft region masks resized to ``size`` and made to sum to 1 at each pixel.

    Negative values count as 0; pixels covered by no mask share all K regions equally.
    """
    m = resize_map(masks, size).clamp_min(0)
    total = m.sum(1, keepdim=True)
    return torch.where(total > 1e-6, m / total.clamp_min(1e-6),
                       torch.full_like(m, 1 / m.shape[1]))


def masked_style_stats(stats: Sequence[tuple[torch.Tensor, torch.Tensor]], masks: torch.Tensor,
                       size: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pixel style statistics from soft region masks (one style per mask channel).

    Args:
        stats: one ``(mean, std)`` pair, each (1 or B, C, 1, 1), per style.
        masks: (B or 1, K, H', W') soft masks, K = len(stats); resized to ``size`` and
            normalised to sum to 1 at each pixel (pixels covered by no mask share all styles).

    Returns:
        ``(mean, std)``, each (B, C, h, w) at ``size``.
    """
    if masks.ndim != 4 or masks.shape[1] != len(stats):
        raise ValueError(f"masks must be (B, {len(stats)}, H, W), got {tuple(masks.shape)}")
    m = normalise_masks(masks.to(stats[0][0].dtype), size)
    mean = sum(m[:, k: k + 1] * s[0] for k, s in enumerate(stats))
    std = sum(m[:, k: k + 1] * s[1] for k, s in enumerate(stats))
    return mean, std


def mix_style_stats(
    stats: Sequence[tuple[torch.Tensor, torch.Tensor]], weights: Sequence[float]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Interpolate several styles by a convex combination of their statistics.

    Args:
        stats: ``(mean, std)`` pairs, each (1, C, 1, 1).
        weights: non-negative, not all zero; normalised to sum to 1.

    Returns:
        The mixed ``(mean, std)``.
    """
    if len(stats) != len(weights) or not stats:
        raise ValueError(f"need one weight per style: {len(stats)} styles, {len(weights)} weights")
    w = torch.tensor([float(x) for x in weights], dtype=stats[0][0].dtype,
                     device=stats[0][0].device)
    if (w < 0).any() or not torch.isfinite(w).all() or w.sum() <= 0:
        raise ValueError(f"style weights must be non-negative with a positive sum, got "
                         f"{list(weights)}")
    w = w / w.sum()
    mean = sum(wi * m for wi, (m, _) in zip(w, stats, strict=True))
    std = sum(wi * s for wi, (_, s) in zip(w, stats, strict=True))
    return mean, std


def masked_adain(
    content: torch.Tensor,
    stats: Sequence[tuple[torch.Tensor, torch.Tensor]],
    masks: torch.Tensor,
    eps: float = _EPS,
    content_stats: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """AdaIN with a different style in each region.

    Args:
        content: (B, C, H, W) content features.
        stats: one ``(mean, std)`` pair, each (1 or B, C, 1, 1), per style.
        masks: (B or 1, K, H', W') soft region masks, K = len(stats); they are resized to (H, W)
            and normalised to sum to 1 at each pixel (pixels covered by no mask share all styles
            equally).
        content_stats: optional whole-image content mean/std (see :func:`adain_from_stats`).

    Returns:
        (B, C, H, W): each pixel normalised with the content's global statistics and
        re-coloured with its region's style statistics.
    """
    _check_features(content, "content")
    mean, std = masked_style_stats(stats, masks.to(content.dtype), content.shape[-2:])
    return adain_from_stats(content, mean, std, eps, content_stats)


class AdaIN(nn.Module):
    """Module twin of :func:`adain` (stores only ``eps``)."""

    def __init__(self, eps: float = _EPS) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return adain(content, style, self.eps)
