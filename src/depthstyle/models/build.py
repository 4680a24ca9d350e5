"""Building models: one spec per encoder, the decoder kinds, and the registry's builders.

Everything that knows how a model is put together lives here:

* :data:`ENCODER_SPECS` - per encoder name, how to build it (with its weights), the tap its
  decoder inverts by default, and the default decoder widths;
* :func:`build_decoder` - the decoder kinds (``compact`` v1, ``skip`` v2);
* :data:`BUILDERS` - how a registry entry (:mod:`depthstyle.weights`) becomes a
  :class:`StyleModel`; each entry names its builder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from depthstyle.errors import WeightsError
from depthstyle.models.decoder import SkipDecoder, compact_decoder
from depthstyle.models.encoder import Encoder
from depthstyle.models.lite0 import lite0_encoder
from depthstyle.models.style_model import StyleModel
from depthstyle.models.vgg import adain_decoder_sequential, random_vgg19_encoder, vgg19_encoder

__all__ = [
    "EncoderSpec",
    "ENCODER_SPECS",
    "ENCODERS",
    "DECODER_KINDS",
    "DEFAULT_DECODE_LEVEL",
    "DEFAULT_DECODER_WIDTHS",
    "BUILDERS",
    "build_encoder",
    "build_decoder",
    "load_model",
    "save_decoder",
]


def _lite0(seed: int, download: bool) -> Encoder:
    from depthstyle import weights as W

    enc = lite0_encoder()
    wf = W.get_entry("depthstyle-lite0").files["encoder"]
    W.load_state_dict_strict(enc, W.load_state_dict_file(W.fetch_file(wf)), what=wf.filename)
    return enc


def _random_vgg(seed: int, download: bool) -> Encoder:
    return random_vgg19_encoder(seed=seed)


def _vgg19(seed: int, download: bool) -> Encoder:
    from depthstyle import weights as W

    wf = W.REGISTRY["vgg19-adain"].files["encoder"]
    return vgg19_encoder(state_dict=W.load_state_dict_file(W.fetch_file(wf, download=download),
                                                           wf.format))


@dataclass(frozen=True)
class EncoderSpec:
    """How to build one encoder and the defaults of decoders trained on it.

    Attributes:
        build: ``(seed, download) -> Encoder`` with its weights.
        decode_level: 0-based tap a new decoder inverts by default.
        widths: default decoder channels per scale, deepest first.
    """

    build: Callable[[int, bool], Encoder]
    decode_level: int
    widths: tuple[int, ...]


ENCODER_SPECS: dict[str, EncoderSpec] = {
    # Lite0's expand5 is at 1/8 like VGG's relu4_1 (see docs/model-card.md)
    "lite0": EncoderSpec(_lite0, 2, (128, 64, 32, 16)),
    "random-vgg19": EncoderSpec(_random_vgg, 3, (256, 128, 64, 32)),
    "vgg19": EncoderSpec(_vgg19, 3, (256, 128, 64, 32)),
}
ENCODERS = tuple(ENCODER_SPECS)
# "compact": v1, decodes the deepest tap only; "skip": v2, reads every tap up to the decoded one.
DECODER_KINDS = ("compact", "skip")
DEFAULT_DECODE_LEVEL = {k: v.decode_level for k, v in ENCODER_SPECS.items()}
DEFAULT_DECODER_WIDTHS = {k: v.widths for k, v in ENCODER_SPECS.items()}


def build_encoder(name: str, *, seed: int = 0, download: bool = True) -> Encoder:
    """Build a frozen encoder with its weights.

    Args:
        name: ``"lite0"`` (bundled ImageNet weights), ``"random-vgg19"`` (seeded random
            weights), or ``"vgg19"`` (published ``vgg_normalised.pth``, from the weights registry).
        seed: seed of ``random-vgg19``.
        download: allow downloading ``vgg19`` weights.

    Raises:
        WeightsError: unknown name, or weights missing/corrupt.
    """
    spec = ENCODER_SPECS.get(name)
    if spec is None:
        raise WeightsError(f"unknown encoder {name!r}; choose one of {', '.join(ENCODERS)}")
    return spec.build(seed, download)


def build_decoder(encoder: Encoder, widths: tuple[int, ...] | None = None,
                  decode_level: int | None = None, kind: str = "compact",
                  skip_width: int = 32) -> nn.Module:
    """A fresh decoder for tap ``decode_level`` (default per encoder) of ``encoder``.

    Args:
        encoder: the encoder whose taps the decoder reads.
        widths: channels per scale, deepest first (default per encoder).
        decode_level: 0-based deepest tap it inverts.
        kind: ``"compact"`` (v1, deepest tap only) or ``"skip"`` (v2, every tap up to it).
        skip_width: channels of each skip projection (``"skip"`` only).

    Raises:
        WeightsError: unknown kind, or widths that do not match the tap's stride.
    """
    level = DEFAULT_DECODE_LEVEL[encoder.name] if decode_level is None else decode_level
    widths = tuple(widths or DEFAULT_DECODER_WIDTHS[encoder.name])
    if 2 ** (len(widths) - 1) != encoder.strides[level]:
        raise WeightsError(f"{len(widths)} decoder widths give x{2 ** (len(widths) - 1)} "
                           f"upsampling, but tap {encoder.level_names[level]} has stride "
                           f"{encoder.strides[level]}")
    if kind == "compact":
        return compact_decoder(encoder.channels[level], widths)
    if kind == "skip":
        return SkipDecoder(encoder.channels[: level + 1], encoder.strides[: level + 1], widths,
                           skip_width)
    raise WeightsError(f"unknown decoder kind {kind!r}; choose one of {', '.join(DECODER_KINDS)}")


def save_decoder(decoder: nn.Module, path: str | os.PathLike, *, encoder: Encoder,
                 widths: tuple[int, ...], decode_level: int, seed: int = 0,
                 extra: dict[str, str] | None = None, overwrite: bool = True,
                 strength_net: nn.Module | None = None, kind: str = "compact",
                 skip_width: int = 32) -> Path:
    """Save a trained decoder (and learned strength module) as safetensors with its metadata.

    The strength module's tensors are stored under ``strength.`` with its configuration in the
    metadata, so one file holds the whole model.
    """
    from safetensors.torch import save_file

    from depthstyle.io import atomic_output

    meta = {"format": "depthstyle-decoder-v1", "encoder": encoder.name,
            "encoder_seed": str(seed), "widths": json.dumps(list(widths)),
            "decode_level": str(decode_level)}
    if kind != "compact":
        meta.update({"decoder_kind": kind, "skip_width": str(skip_width)})
    meta.update(extra or {})
    tensors = {k: v.detach().float().contiguous().cpu() for k, v in decoder.state_dict().items()}
    if strength_net is not None:
        meta.update(strength_net.config())
        tensors.update({f"strength.{k}": v.detach().float().contiguous().cpu()
                        for k, v in strength_net.state_dict().items()})
    with atomic_output(path, overwrite=overwrite) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return Path(path)


def _load_decoder_file(path: Path, *, download: bool) -> StyleModel:
    from safetensors import safe_open

    from depthstyle import weights as W

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
    except Exception as exc:  # noqa: BLE001
        raise WeightsError(f"{path}: not a readable safetensors decoder file ({exc})") from None
    if meta.get("format") != "depthstyle-decoder-v1":
        raise WeightsError(f"{path}: no depthstyle decoder metadata (written by `depthstyle "
                           "train`?); found keys {sorted(meta)}")
    try:
        widths = tuple(int(w) for w in json.loads(meta["widths"]))
        seed = int(meta.get("encoder_seed", "0"))
        level = int(meta["decode_level"])
        kind = meta.get("decoder_kind", "compact")
        skip_width = int(meta.get("skip_width", "32"))
    except (KeyError, ValueError, TypeError):
        raise WeightsError(f"{path}: malformed decoder metadata {meta}") from None
    encoder = build_encoder(meta.get("encoder", ""), seed=seed, download=download)
    decoder = build_decoder(encoder, widths, level, kind, skip_width)
    state = W.load_state_dict_file(path)
    net_state = {k[len("strength."):]: v for k, v in state.items() if k.startswith("strength.")}
    W.load_state_dict_strict(decoder, {k: v for k, v in state.items()
                                       if not k.startswith("strength.")}, what=str(path))
    net = None
    if net_state or "strength_levels" in meta:
        from depthstyle.models.strength_net import StrengthNet

        try:
            net = StrengthNet.from_config(meta)
        except (KeyError, ValueError) as exc:
            raise WeightsError(f"{path}: malformed strength-module metadata ({exc})") from None
        W.load_state_dict_strict(net, net_state, what=f"{path} (strength module)")
        net.eval()
    return StyleModel(encoder, decoder.eval(), str(path), meta, decode_level=level,
                      strength_net=net)


def load_model(name: str | os.PathLike = "depthstyle-lite0", *, download: bool = True
               ) -> StyleModel:
    """Load a named model from the registry or a decoder file written by ``depthstyle train``.

    Raises:
        WeightsError: unknown name, missing/corrupt files, wrong keys.
        DownloadError: a download failed.
    """
    from depthstyle import weights as W

    p = Path(name)
    known = str(name) in W.REGISTRY or str(name) in W.ALIASES
    if not known and (p.suffix == ".safetensors" or p.exists()):
        if not p.is_file():
            raise WeightsError(f"{p}: no such decoder file")
        return _load_decoder_file(p, download=download)
    entry = W.get_entry(str(name))
    return BUILDERS[entry.builder](entry, download)


def _build_adain_pair(entry, download: bool) -> StyleModel:
    """The published AdaIN model: VGG-19 encoder + its ``decoder.pth``."""
    from depthstyle import weights as W

    encoder = build_encoder(entry.encoder, download=download)
    wf = entry.files["decoder"]
    decoder = adain_decoder_sequential()
    W.load_state_dict_strict(
        decoder, W.load_state_dict_file(W.fetch_file(wf, download=download), wf.format),
        what=f"AdaIN decoder ({wf.filename})")
    return StyleModel(encoder, decoder.eval(), entry.name, {"encoder": entry.encoder})


def _build_decoder_file(entry, download: bool) -> StyleModel:
    """A model whose decoder file (``depthstyle train``) records its encoder and layout."""
    from depthstyle import weights as W

    model = _load_decoder_file(W.fetch_file(entry.files["decoder"], download=download),
                               download=download)
    model.name = entry.name
    return model


# registry entry ``builder`` -> (entry, download) -> StyleModel
BUILDERS: dict[str, Callable[..., StyleModel]] = {
    "decoder-file": _build_decoder_file,
    "adain-pair": _build_adain_pair,
}
