"""Encoders, decoders and the :class:`StyleModel` that pairs them (re-exports only).

``load_model`` accepts a registry name (``depthstyle-lite0``, ``vgg19-adain``) or the path of a
decoder file written by ``depthstyle train`` (safetensors with the encoder recorded in its
metadata). How models are built is in :mod:`depthstyle.models.build`.
"""

from depthstyle.models.build import (
    BUILDERS,
    DECODER_KINDS,
    DEFAULT_DECODE_LEVEL,
    DEFAULT_DECODER_WIDTHS,
    ENCODER_SPECS,
    ENCODERS,
    EncoderSpec,
    build_decoder,
    build_encoder,
    load_model,
    save_decoder,
)
from depthstyle.models.encoder import Encoder
from depthstyle.models.style_model import StyleModel, count_parameters

__all__ = [
    "Encoder",
    "StyleModel",
    "EncoderSpec",
    "ENCODER_SPECS",
    "ENCODERS",
    "DECODER_KINDS",
    "DEFAULT_DECODER_WIDTHS",
    "DEFAULT_DECODE_LEVEL",
    "BUILDERS",
    "build_encoder",
    "build_decoder",
    "load_model",
    "save_decoder",
    "count_parameters",
]
