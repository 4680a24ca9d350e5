"""Decoders for the bundled models.

* :func:`compact_decoder` (model v1): inverts one encoder tap with nearest-neighbour upsampling
  and reflection-padded 3x3 convolutions, like the AdaIN decoder, but narrows the channels
  *before* each upsampling so the expensive full-resolution layers stay thin.
* :class:`SkipDecoder` (model v2): the same trunk, plus a 1x1-projected skip input from every
  shallower tap at the scale where its stride matches, **gated by the strength map**: each skip
  is multiplied by ``1 - S`` averaged to its grid. The shallow taps carry the fine detail the
  deep tap has lost, so where strength is low the decoder gives the photo back; where strength
  is 1 the skips are closed and the trunk alone paints the style from the restyled deep
  features, as an AdaIN decoder does, so the photo's own fine texture does not leak into fully
  stylized regions (an ungated variant did exactly that in our ablation, docs/model-card.md).

Every decoder takes the list of features of levels ``0..decode_level`` (shallow to deep) and the
full-resolution strength map, and returns (B, 3, H, W) RGB, unclamped. Single-input decoders
read only the last entry and ignore the strength.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from depthstyle.ops import strength_at_level

__all__ = ["compact_decoder", "CompactDecoder", "SkipDecoder", "decode", "narrow_skip_decoder"]


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1, padding_mode="reflect")


class CompactDecoder(nn.Sequential):
    """v1 decoder: an ``nn.Sequential`` (state-dict keys ``0.weight``...) over the deepest tap.

    ``forward`` takes the list of tap features (or one tensor) and decodes the last one.
    """

    input_levels: tuple[int, ...] = ()  # only the deepest

    def forward(self, feats: Sequence[torch.Tensor] | torch.Tensor,  # noqa: D102
                strength: torch.Tensor | float | None = None) -> torch.Tensor:
        x = feats if isinstance(feats, torch.Tensor) else feats[-1]
        for layer in self:
            x = layer(x)
        return x


def compact_decoder(in_channels: int, widths: Sequence[int]) -> CompactDecoder:
    """Build a decoder from ``in_channels`` features at 1/2**(len(widths)-1) scale to RGB.

    Args:
        in_channels: channels of the deepest encoder tap.
        widths: channels at each scale, deepest first; ``len(widths) - 1`` upsamplings by 2.

    Returns:
        :class:`CompactDecoder`: (B, in_channels, h, w) -> (B, 3, h * 2**(len(widths)-1), ...).
        Output is not clamped; the pipeline clamps to [0, 1].
    """
    if len(widths) < 1 or any(w < 1 for w in widths):
        raise ValueError(f"widths must be positive channel counts, got {list(widths)}")
    layers: list[nn.Module] = [nn.Conv2d(in_channels, widths[0], 1), nn.ReLU(inplace=True)]
    for i, w in enumerate(widths):
        nxt = widths[i + 1] if i + 1 < len(widths) else w
        layers += [_conv(w, w), nn.ReLU(inplace=True), _conv(w, nxt), nn.ReLU(inplace=True)]
        if i + 1 < len(widths):
            layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
    layers.append(_conv(widths[-1], 3))
    return CompactDecoder(*layers)


class SkipDecoder(nn.Module):
    """v2 decoder over every tap up to the decoded one (shallow taps as skip inputs).

    Args:
        channels: channels of taps ``0..decode_level`` (shallow to deep).
        strides: their strides (powers of two, increasing; the last is the decoded tap's).
        widths: trunk channels per scale, deepest first; ``len(widths) - 1`` upsamplings by 2,
            so ``2 ** (len(widths) - 1)`` must equal the deepest stride.
        skip_width: channels of each tap's 1x1 projection before it joins the trunk.

    Shapes: ``feats[i]`` is (B, channels[i], H / strides[i], W / strides[i]); ``strength`` is a
    scalar or (B or 1, 1, H, W) in [0, 1]; output (B, 3, H, W) unclamped. H and W must be
    multiples of the deepest stride.
    """

    def __init__(self, channels: Sequence[int], strides: Sequence[int], widths: Sequence[int],
                 skip_width: int = 32) -> None:
        super().__init__()
        if len(channels) != len(strides) or not channels:
            raise ValueError(f"need one stride per tap: {list(channels)} vs {list(strides)}")
        if any(w < 1 for w in widths) or skip_width < 1:
            raise ValueError(f"widths must be positive, got {list(widths)} / {skip_width}")
        if 2 ** (len(widths) - 1) != strides[-1]:
            raise ValueError(f"{len(widths)} widths give x{2 ** (len(widths) - 1)} upsampling, "
                             f"but the deepest tap has stride {strides[-1]}")
        self.channels, self.strides = tuple(channels), tuple(strides)
        self.widths, self.skip_width = tuple(widths), int(skip_width)
        self.input_levels = tuple(range(len(channels)))
        self.head = nn.Conv2d(channels[-1], widths[0], 1)
        # scale k (deepest first) has stride strides[-1] / 2**k; taps other than the deepest
        # join at the scale of their stride.
        scale_of = {strides[-1] // 2 ** k: k for k in range(len(widths))}
        self.skip_at: dict[int, int] = {}
        skips = {}
        for i, s in enumerate(strides[:-1]):
            if s not in scale_of:
                raise ValueError(f"tap {i} has stride {s}, which no decoder scale matches")
            self.skip_at[scale_of[s]] = i
            skips[str(i)] = nn.Conv2d(channels[i], skip_width, 1)
        self.skips = nn.ModuleDict(skips)
        blocks = []
        for k, w in enumerate(widths):
            nxt = widths[k + 1] if k + 1 < len(widths) else w
            cin = w + (skip_width if k in self.skip_at else 0)
            blocks.append(nn.Sequential(_conv(cin, w), nn.ReLU(inplace=True), _conv(w, nxt),
                                        nn.ReLU(inplace=True)))
        self.blocks = nn.ModuleList(blocks)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.rgb = _conv(widths[-1], 3)

    def config(self) -> dict[str, object]:
        """What :func:`depthstyle.models.build_decoder` needs to rebuild this decoder."""
        return {"kind": "skip", "widths": list(self.widths), "skip_width": self.skip_width}

    def forward(self, feats: Sequence[torch.Tensor],  # noqa: D102
                strength: torch.Tensor | float) -> torch.Tensor:
        if isinstance(feats, torch.Tensor) or len(feats) != len(self.channels):
            raise ValueError(f"SkipDecoder needs the features of {len(self.channels)} taps")
        x = self.head(feats[-1]).relu_()
        for k, block in enumerate(self.blocks):
            if k in self.skip_at:
                i = self.skip_at[k]
                skip = self.skips[str(i)](feats[i]).relu_()
                s = strength_at_level(strength, self.strides[i])
                s = s.to(skip.dtype) if isinstance(s, torch.Tensor) else float(s)
                x = torch.cat([x, skip * (1 - s)], 1)
            x = block(x)
            if k + 1 < len(self.blocks):
                x = self.up(x)
        return self.rgb(x)


def decode(decoder: nn.Module, feats: Sequence[torch.Tensor],
           strength: torch.Tensor | float) -> torch.Tensor:
    """Run any decoder: skip decoders get the strength map for their gates, others only feats.

    Args:
        decoder: a :class:`SkipDecoder`, :class:`CompactDecoder` or any module over features.
        feats: features of taps ``0..decode_level``, shallow to deep.
        strength: scalar or (B or 1, 1, H, W) full-resolution strength in [0, 1].
    """
    if isinstance(decoder, SkipDecoder):
        return decoder(feats, strength)
    return decoder(feats)


def _top(importance: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the ``k`` largest entries, in their original order."""
    return importance.topk(k).indices.sort().values


def _use(weight: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
    """How much a conv uses each of its input channels ``lo:hi`` (L1 norm of their weights)."""
    return weight[:, lo:hi].abs().sum(dim=(0, 2, 3))


@torch.no_grad()
def narrow_skip_decoder(source: SkipDecoder, widths: Sequence[int], skip_width: int
                        ) -> SkipDecoder:
    """A narrower :class:`SkipDecoder` that starts from ``source``'s most used channels.

    Every layer keeps the output channels that the layer reading them weighs most (L1 norm of
    the consumer's weights on each channel), and the matching slices of its weights, so the
    narrow decoder starts as a pruned copy of the wide one instead of at random; distillation
    (``depthstyle train --distill-from``) then trains it to imitate the wide one. Channels the
    source never uses are dropped first, so pruning only unused channels changes nothing.

    Args:
        source: a trained skip decoder.
        widths: the new trunk widths per scale (each at most the source's; same count).
        skip_width: the new skip projection width (at most the source's).

    Raises:
        ValueError: other scales, or a width wider than the source's.
    """
    old_w, old_sw = source.widths, source.skip_width
    if len(widths) != len(old_w) or any(w > o for w, o in zip(widths, old_w, strict=True)) \
            or skip_width > old_sw:
        raise ValueError(f"can only narrow: source widths {list(old_w)} / skip {old_sw}, asked "
                         f"{list(widths)} / skip {skip_width}")
    new = SkipDecoder(source.channels, source.strides, widths, skip_width)
    n = len(widths)
    first = [source.blocks[k][0].weight for k in range(n)]
    second = [source.blocks[k][2].weight for k in range(n)]
    # trunk channels entering each block, and the final ones the RGB conv reads
    trunk_in = [_top(_use(first[k], 0, old_w[k]), widths[k]) for k in range(n)]
    final = _top(_use(source.rgb.weight, 0, old_w[-1]), widths[-1])
    mid = [_top(_use(second[k], 0, old_w[k]), widths[k]) for k in range(n)]
    skip_keep = {k: _top(_use(first[k], old_w[k], old_w[k] + old_sw), skip_width)
                 for k in source.skip_at}

    def put(dst: nn.Conv2d, src: nn.Conv2d, out_idx: torch.Tensor, in_idx: torch.Tensor):
        dst.weight.copy_(src.weight[out_idx][:, in_idx])
        dst.bias.copy_(src.bias[out_idx])

    all_in = torch.arange(source.channels[-1])
    put(new.head, source.head, trunk_in[0], all_in)
    for k, i in source.skip_at.items():
        put(new.skips[str(i)], source.skips[str(i)], skip_keep[k],
            torch.arange(source.channels[i]))
    for k in range(n):
        cols = trunk_in[k] if k not in source.skip_at else \
            torch.cat([trunk_in[k], old_w[k] + skip_keep[k]])
        put(new.blocks[k][0], source.blocks[k][0], mid[k], cols)
        out_idx = trunk_in[k + 1] if k + 1 < n else final
        put(new.blocks[k][2], source.blocks[k][2], out_idx, mid[k])
    put(new.rgb, source.rgb, torch.arange(3), final)
    return new
