"""Proximity -> per-pixel stylization strength (Kitov, Kozlovtsev & Mishustina, arXiv 1906.01123).

The transform (derived in docs/method.md)::

    P' = min(sigmoid(contrast * (P - mean(P))), 1 - offset)
    S  = alpha * (1 - P')

with proximity ``P`` in [0, 1] (1 = nearest). Far pixels get strength close to ``alpha``, near
pixels keep more content, and every pixel gets at least ``alpha * offset``. ``contrast`` sharpens
the near/far split around the image's mean proximity. ``invert=True`` uses ``1 - P`` (stylize the
foreground, keep the background). A proximity map with no variation carries no depth information
and yields the uniform strength ``alpha`` (plain AdaIN with alpha).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from depthstyle.errors import SettingsError

__all__ = ["DEFAULT_OFFSET", "DEFAULT_CONTRAST", "strength_from_proximity", "strength_core",
           "StrengthTransform", "check_strength_params"]

DEFAULT_OFFSET = 0.2
DEFAULT_CONTRAST = 10.0
_FLAT = 1e-4  # a proximity range below this counts as "no depth information"


def check_strength_params(offset: float, contrast: float, alpha: float = 1.0) -> None:
    """Raise :class:`SettingsError` unless 0<=offset<=1, contrast>=0 and 0<=alpha<=1."""
    if not 0.0 <= offset <= 1.0:
        raise SettingsError(f"offset must be in [0, 1], got {offset}")
    if not (contrast >= 0.0 and contrast < float("inf")):
        raise SettingsError(f"contrast must be a finite number >= 0, got {contrast}")
    if not 0.0 <= alpha <= 1.0:
        raise SettingsError(f"alpha must be in [0, 1], got {alpha}")


def strength_from_proximity(
    proximity: torch.Tensor,
    offset: float = DEFAULT_OFFSET,
    contrast: float = DEFAULT_CONTRAST,
    *,
    alpha: float = 1.0,
    invert: bool = False,
) -> torch.Tensor:
    """Per-pixel stylization strength from a proximity map.

    Args:
        proximity: (B, 1, H, W) in [0, 1], 1 = nearest.
        offset: minimum strength as a fraction of ``alpha`` (0 = near objects may keep all
            content, 1 = uniform full strength).
        contrast: slope of the sigmoid around the mean proximity (0 = uniform 0.5 before the
            offset; larger = sharper near/far split).
        alpha: global strength multiplier in [0, 1].
        invert: stylize near regions and keep far ones.

    Returns:
        (B, 1, H, W) strength in [alpha * offset, alpha]; non-increasing in proximity (non-
        decreasing with ``invert``); exactly ``alpha`` everywhere for a flat proximity map.

    Raises:
        SettingsError: parameters out of range.
        ValueError: proximity not (B, 1, H, W).

    Example:
        >>> p = torch.linspace(0, 1, 5).view(1, 1, 1, 5)
        >>> s = strength_from_proximity(p, offset=0.2, contrast=10)
        >>> bool((s[..., :-1] >= s[..., 1:]).all())
        True
    """
    check_strength_params(offset, contrast, alpha)
    if proximity.ndim != 4 or proximity.shape[1] != 1:
        raise ValueError(f"proximity must be (B, 1, H, W), got {tuple(proximity.shape)}")
    p = proximity.clamp(0.0, 1.0)
    if invert:
        p = 1.0 - p
    return strength_core(p, offset, contrast, alpha)


def strength_core(p: torch.Tensor, offset: float | torch.Tensor, contrast: float | torch.Tensor,
                  alpha: float | torch.Tensor) -> torch.Tensor:
    """The transform on a clamped (and, if wanted, inverted) proximity map, unchecked.

    Pure tensor ops, so the parameters may be tensors: the ONNX export and the learned strength
    module call this with tensor inputs; everyone else should call
    :func:`strength_from_proximity`.
    """
    mean = p.mean(dim=(2, 3), keepdim=True)
    near = torch.minimum(torch.sigmoid(contrast * (p - mean)),
                         torch.as_tensor(1.0 - offset, dtype=p.dtype, device=p.device))
    strength = 1.0 - near
    flat = (p.amax(dim=(2, 3), keepdim=True) - p.amin(dim=(2, 3), keepdim=True)) < _FLAT
    strength = torch.where(flat, torch.ones_like(strength), strength)
    return (alpha * strength).clamp(0.0, 1.0)


@dataclass(frozen=True)
class _Params:
    offset: float
    contrast: float
    alpha: float
    invert: bool


class StrengthTransform(nn.Module):
    """Module twin of :func:`strength_from_proximity` (stores only its parameters)."""

    def __init__(self, offset: float = DEFAULT_OFFSET, contrast: float = DEFAULT_CONTRAST,
                 alpha: float = 1.0, invert: bool = False) -> None:
        super().__init__()
        check_strength_params(offset, contrast, alpha)
        self.params = _Params(offset, contrast, alpha, invert)

    def forward(self, proximity: torch.Tensor) -> torch.Tensor:  # noqa: D102
        p = self.params
        return strength_from_proximity(proximity, p.offset, p.contrast, alpha=p.alpha,
                                       invert=p.invert)
