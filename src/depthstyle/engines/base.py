"""The engine protocol: what the pipeline asks of a network backend.

An engine *executes*: it encodes a style image's channel statistics, and it renders a content
image given per-level style statistics and strength maps. The :class:`~depthstyle.pipeline.
Stylizer` *decides* (settings, depth, strength, style cache, colour) and holds one engine as a
component, the way diffusers pipelines hold their models. Nothing outside an engine asks which
engine it holds; capabilities are flags on the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch

from depthstyle.ops import masked_style_stats, mix_style_stats
from depthstyle.settings import detail_mode

__all__ = ["Engine", "Stats", "StrengthMaps", "RenderJob", "level_style_stats", "border_pads",
           "pad_border"]

Stats = list[tuple[torch.Tensor, torch.Tensor]]  # per level: (mean, std), each (1, C, 1, 1)
StrengthMaps = torch.Tensor | list[torch.Tensor]  # one map for all levels, or one per level


@dataclass(frozen=True)
class RenderJob:
    """Everything an engine needs to render one content batch.

    Attributes:
        content: (B, 3, H, W) RGB in [0, 1] (CPU), any size >= 1 x 1.
        strength: (B, 1, H, W) in [0, 1], or (learned strength) one (B, G, H, W) map per level
            ``0..decode_level``.
        levels: 0-based levels where the restyle step acts.
        styles: one :data:`Stats` per style image.
        weights: style interpolation weights (``None`` = equal).
        masks: (B or 1, K, H, W) soft region masks, one per style, or ``None``.
        detail: how the photo comes back where strength is low: ``"blend"``, ``"residual"``
            or ``"off"`` (see :class:`~depthstyle.settings.StyleSettings`).
    """

    content: torch.Tensor
    strength: StrengthMaps
    levels: Sequence[int]
    styles: Sequence[Stats]
    weights: Sequence[float] | None = None
    masks: torch.Tensor | None = None
    detail: str = "blend"

    def __post_init__(self) -> None:
        object.__setattr__(self, "detail", detail_mode(self.detail))


def border_pads(h: int, w: int, border: int, multiple: int) -> tuple[int, int, int, int]:
    """(left, right, top, bottom): ``border`` px on every side, then up to a ``multiple``."""
    b = border
    return b, b + (-(w + 2 * b)) % multiple, b, b + (-(h + 2 * b)) % multiple


def pad_border(t: torch.Tensor, pads: tuple[int, int, int, int], *, image: bool) -> torch.Tensor:
    """Pad an image (reflected) or a map (replicated) by ``pads`` (see :func:`border_pads`).

    Reflection needs each pad smaller than the side; tiny images fall back to replication.
    """
    if not any(pads):
        return t
    h, w = t.shape[-2:]
    mode = "reflect" if image and max(pads[:2]) < w and max(pads[2:]) < h else "replicate"
    return torch.nn.functional.pad(t, pads, mode=mode)


def level_style_stats(styles: Sequence[Stats], weights: Sequence[float] | None,
                      masks: torch.Tensor | None, level: int, size: Sequence[int] | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """The style statistics used at ``level``: one style, several interpolated, or by region.

    Args:
        styles: one :data:`Stats` per style.
        weights: interpolation weights (``None`` = equal); ignored with masks.
        masks: (B, K, H, W) region masks, resized to ``size`` (the level's feature grid).
        level: 0-based level.
        size: the feature grid's (h, w), needed with masks.

    Returns:
        ``(mean, std)``: (1, C, 1, 1) each, or (B, C, h, w) with masks.
    """
    per_style = [st[level] for st in styles]
    if masks is not None:
        return masked_style_stats(per_style, masks, size)
    if len(per_style) == 1:
        return per_style[0]
    return mix_style_stats(per_style, weights or [1.0] * len(per_style))


@runtime_checkable
class Engine(Protocol):
    """What a network backend provides to :class:`~depthstyle.pipeline.Stylizer`."""

    name: str
    encoder_name: str
    device: torch.device
    level_names: tuple[str, ...]
    decode_level: int
    downsampling: int
    default_levels: tuple[int, ...]
    supports_masks: bool
    has_learned_strength: bool

    def style_stats(self, image: torch.Tensor) -> Stats:
        """Channel mean/std of a (1, 3, H, W) image at every level up to the decoded one."""
        ...

    def render(self, job: RenderJob) -> torch.Tensor:
        """Restyle and decode: (B, 3, H, W) RGB in [0, 1] on the CPU, at the content's size."""
        ...

    def learned_strength(self, proximity: torch.Tensor, content: torch.Tensor, style: Stats,
                         *, offset: float, contrast: float, alpha: float, invert: bool
                         ) -> list[torch.Tensor]:
        """Per-level (B, G, H, W) maps of the model's learned strength module."""
        ...
