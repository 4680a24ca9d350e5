"""The :class:`StyleModel` that pairs a frozen encoder with its decoder (and strength module)."""

from __future__ import annotations

import torch
from torch import nn

from depthstyle.errors import WeightsError
from depthstyle.models.decoder import decode
from depthstyle.models.encoder import Encoder

__all__ = ["StyleModel", "count_parameters"]


class StyleModel(nn.Module):
    """An encoder with taps and the decoder that inverts one of them.

    Attributes:
        encoder: frozen :class:`Encoder`.
        decoder: (B, C, h, w) features of tap ``decode_level`` -> (B, 3, h*f, w*f), f =
            :attr:`downsampling`.
        decode_level: 0-based index of the tap the decoder inverts (default: the deepest).
        name: registry name or file path it was loaded from.
        metadata: what the weights file recorded (encoder, widths, training steps...).
        strength_net: optional learned strength module
            (:class:`~depthstyle.models.strength_net.StrengthNet`), saved in the same file.
    """

    def __init__(self, encoder: Encoder, decoder: nn.Module, name: str,
                 metadata: dict[str, str] | None = None, decode_level: int | None = None,
                 strength_net: nn.Module | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.strength_net = strength_net
        self.name = name
        self.metadata = dict(metadata or {})
        self.decode_level = encoder.num_levels - 1 if decode_level is None else int(decode_level)
        if not 0 <= self.decode_level < encoder.num_levels:
            raise WeightsError(f"decode level {decode_level} out of range for {encoder.name}")

    @property
    def downsampling(self) -> int:
        """Input sides should be multiples of this (the decoded tap's stride)."""
        return self.encoder.strides[self.decode_level]

    @property
    def default_levels(self) -> tuple[int, ...]:
        """0-based levels restyled when the settings name none: the decoded level.

        Classic AdaIN for a single-input decoder. A skip decoder's shallow inputs stay the
        photo's own features, gated by ``1 - strength`` inside the decoder.
        """
        return (self.decode_level,)

    def decode(self, feats: list[torch.Tensor], strength: torch.Tensor | float) -> torch.Tensor:
        """The decoder on tap features, with the full-resolution strength (see :func:`decode`)."""
        return decode(self.decoder, feats, strength)


def count_parameters(module: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in module.parameters())
