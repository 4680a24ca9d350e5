"""Compact decoders for the bundled model.

The decoder mirrors an encoder with nearest-neighbour upsampling and reflection-padded 3x3
convolutions, like the AdaIN decoder, but narrows the channels *before* each upsampling so the
expensive full-resolution layers stay thin (CPU speed is the bundled model's constraint).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

__all__ = ["compact_decoder"]


def compact_decoder(in_channels: int, widths: Sequence[int]) -> nn.Sequential:
    """Build a decoder from ``in_channels`` features at 1/2**(len(widths)-1) scale to RGB.

    Args:
        in_channels: channels of the deepest encoder tap.
        widths: channels at each scale, deepest first; ``len(widths) - 1`` upsamplings by 2.

    Returns:
        ``nn.Sequential``: (B, in_channels, h, w) -> (B, 3, h * 2**(len(widths)-1), ...).
        Output is not clamped; the pipeline clamps to [0, 1].
    """
    if len(widths) < 1 or any(w < 1 for w in widths):
        raise ValueError(f"widths must be positive channel counts, got {list(widths)}")

    def conv(cin: int, cout: int) -> nn.Conv2d:
        return nn.Conv2d(cin, cout, 3, padding=1, padding_mode="reflect")

    layers: list[nn.Module] = [nn.Conv2d(in_channels, widths[0], 1), nn.ReLU()]
    for i, w in enumerate(widths):
        nxt = widths[i + 1] if i + 1 < len(widths) else w
        layers += [conv(w, w), nn.ReLU(), conv(w, nxt), nn.ReLU()]
        if i + 1 < len(widths):
            layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
    layers.append(conv(widths[-1], 3))
    return nn.Sequential(*layers)
