"""Staged feature encoders with named taps.

An :class:`Encoder` is a chain of stages; stage ``i`` maps the output of stage ``i-1`` (or the
RGB image in [0, 1] for the first stage) to the features of tap ``level_names[i]``. Keeping the
stages separate lets the pipeline restyle features *between* stages, which is how depth-aware
strength acts at several encoder levels (Kitov et al., arXiv 1906.01123).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["Encoder"]


class Encoder(nn.Module):
    """A frozen feature extractor made of stages, one per named tap.

    Args:
        stages: modules; ``stages[i]`` maps tap ``i-1`` (or the image) to tap ``i``.
        level_names: one name per stage, e.g. ``("relu1_1", "relu2_1", "relu3_1", "relu4_1")``.
        channels: output channels of each stage.
        strides: downsampling factor of each tap relative to the image.
        name: a short identifier stored with trained decoders (``"vgg19"``, ``"lite0"``...).

    Input images are float RGB in [0, 1], shape (B, 3, H, W); each stage does its own input
    normalisation where needed.
    """

    def __init__(
        self,
        stages: Sequence[nn.Module],
        level_names: Sequence[str],
        channels: Sequence[int],
        strides: Sequence[int],
        name: str,
    ) -> None:
        super().__init__()
        if not (len(stages) == len(level_names) == len(channels) == len(strides)):
            raise ValueError(
                f"stages ({len(stages)}), level_names ({len(level_names)}) and channels "
                f"({len(channels)}) must have the same length"
            )
        self.stages = nn.ModuleList(stages)
        self.level_names = tuple(level_names)
        self.channels = tuple(int(c) for c in channels)
        self.strides = tuple(int(c) for c in strides)
        self.name = name
        self.requires_grad_(False)
        self.eval()

    @property
    def num_levels(self) -> int:
        """Number of taps."""
        return len(self.stages)

    def level_index(self, level: int | str) -> int:
        """Return the 0-based index of a tap given by 1-based number or by name.

        Raises:
            ValueError: if the level is unknown for this encoder.
        """
        return level_index(self.level_names, level, self.name)

    def forward(self, image: torch.Tensor, upto: int | None = None) -> list[torch.Tensor]:
        """Return the features of every tap, shallow to deep (up to index ``upto``, inclusive)."""
        feats = []
        x = image
        stages = self.stages if upto is None else self.stages[: upto + 1]
        for stage in stages:
            x = stage(x)
            feats.append(x)
        return feats

    def train(self, mode: bool = True) -> Encoder:  # noqa: D102 - frozen: always eval
        return super().train(False)


def level_index(level_names: Sequence[str], level: int | str, encoder: str = "encoder") -> int:
    """0-based index of ``level`` (a 1-based number, its string, or a tap name) in ``level_names``.

    Raises:
        ValueError: if the level is unknown.
    """
    if isinstance(level, str) and level.isdigit():
        level = int(level)
    if isinstance(level, int):
        if 1 <= level <= len(level_names):
            return level - 1
    elif level in level_names:
        return list(level_names).index(level)
    raise ValueError(
        f"unknown level {level!r} for encoder {encoder!r}: use 1..{len(level_names)} "
        f"or one of {', '.join(level_names)}"
    )
