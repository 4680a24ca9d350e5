"""VGG-19 encoder and mirrored decoder in the layout of the published AdaIN weights.

Huang & Belongie, "Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization",
ICCV 2017. The public PyTorch port stores both networks as state dicts of ``nn.Sequential``
with numeric keys: ``vgg_normalised.pth`` (the whole normalised VGG-19 to relu5_4, starting with a
1x1 conv that maps RGB in [0, 1] to the Caffe input space, reflection padding everywhere) and
``decoder.pth``. We rebuild exactly those sequences so the files load unchanged, then slice the
encoder into stages at relu1_1, relu2_1, relu3_1 and relu4_1.

The same layout rebuilt with seeded random weights is the "random VGG" encoder (Ustyuzhaninov et
al., ICLR 2017: random filters carry texture statistics), see :func:`random_vgg19_encoder`.
"""

from __future__ import annotations

import torch
from torch import nn

from depthstyle.models.decoder import CompactDecoder
from depthstyle.models.encoder import Encoder

__all__ = [
    "VGG_LEVELS",
    "vgg19_normalised_sequential",
    "vgg19_encoder",
    "random_vgg19_encoder",
    "adain_decoder_sequential",
]

VGG_LEVELS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
# Sequential index ranges [start, stop) of each stage in vgg_normalised.pth.
_STAGE_BOUNDS = ((0, 4), (4, 11), (11, 18), (18, 31))
_VGG_CHANNELS = (64, 128, 256, 512)

# (kind, argument) from relu1_1 to relu5_4: "c" conv with out channels, "p" max pool.
_VGG_PLAN = (
    ("c", 64), ("c", 64), ("p", 0),
    ("c", 128), ("c", 128), ("p", 0),
    ("c", 256), ("c", 256), ("c", 256), ("c", 256), ("p", 0),
    ("c", 512), ("c", 512), ("c", 512), ("c", 512), ("p", 0),
    ("c", 512), ("c", 512), ("c", 512), ("c", 512),
)


def _pad() -> nn.ReflectionPad2d:
    return nn.ReflectionPad2d((1, 1, 1, 1))


def vgg19_normalised_sequential() -> nn.Sequential:
    """The full 53-layer ``nn.Sequential`` whose state dict is ``vgg_normalised.pth``."""
    layers: list[nn.Module] = [nn.Conv2d(3, 3, 1)]
    cin = 3
    for kind, cout in _VGG_PLAN:
        if kind == "p":
            layers.append(nn.MaxPool2d(2, 2, 0, ceil_mode=True))
        else:
            layers += [_pad(), nn.Conv2d(cin, cout, 3), nn.ReLU()]
            cin = cout
    return nn.Sequential(*layers)


def _stages_from(seq: nn.Sequential) -> Encoder:
    stages = [nn.Sequential(*list(seq)[a:b]) for a, b in _STAGE_BOUNDS]
    return Encoder(stages, VGG_LEVELS, _VGG_CHANNELS, (1, 2, 4, 8), name="vgg19")


def vgg19_encoder(*, state_dict: dict[str, torch.Tensor] | None = None) -> Encoder:
    """Build the VGG-19 encoder to relu4_1, optionally from a ``vgg_normalised.pth`` state dict.

    Layers past relu4_1 in the file are checked against the published layout and dropped.

    Raises:
        depthstyle.errors.WeightsError: listing missing or unexpected keys, or a shape mismatch.
    """
    seq = vgg19_normalised_sequential()
    if state_dict is not None:
        from depthstyle.weights import load_state_dict_strict

        load_state_dict_strict(seq, state_dict, what="VGG-19 (vgg_normalised.pth)")
    return _stages_from(seq[: _STAGE_BOUNDS[-1][1]])


def random_vgg19_encoder(*, seed: int = 0) -> Encoder:
    """VGG-19 layout to relu4_1 with seeded Kaiming-normal weights and zero biases.

    The first 1x1 conv is the identity followed by ImageNet-style centring, so the random
    filters see zero-mean input. Rebuilt bit-identically from ``seed`` on any machine.
    """
    gen = torch.Generator().manual_seed(seed)
    seq = vgg19_normalised_sequential()[: _STAGE_BOUNDS[-1][1]]
    with torch.no_grad():
        for i, mod in enumerate(seq):
            if not isinstance(mod, nn.Conv2d):
                continue
            if i == 0:
                mod.weight.copy_(torch.eye(3).view(3, 3, 1, 1) / 0.226)
                mod.bias.copy_(-torch.tensor([0.485, 0.456, 0.406]) / 0.226)
                continue
            fan_in = mod.in_channels * mod.kernel_size[0] * mod.kernel_size[1]
            mod.weight.copy_(torch.randn(mod.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
            mod.bias.zero_()
    enc = _stages_from(seq)
    enc.name = "random-vgg19"
    return enc


def adain_decoder_sequential() -> CompactDecoder:
    """The ``nn.Sequential`` whose state dict is the AdaIN port's ``decoder.pth`` (512 -> RGB).

    A :class:`~depthstyle.models.decoder.CompactDecoder`, so it decodes the deepest of a list of
    tap features like every other decoder.
    """
    plan = (
        (512, 256), "up", (256, 256), (256, 256), (256, 256), (256, 128), "up",
        (128, 128), (128, 64), "up", (64, 64), (64, 3),
    )
    layers: list[nn.Module] = []
    for i, step in enumerate(plan):
        if step == "up":
            layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
            continue
        layers += [_pad(), nn.Conv2d(step[0], step[1], 3)]
        if i != len(plan) - 1:
            layers.append(nn.ReLU())
    return CompactDecoder(*layers)
