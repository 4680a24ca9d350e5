"""Encoders, decoders and the :class:`StyleModel` that pairs them.

``load_model`` accepts a registry name (``depthstyle-lite0``, ``vgg19-adain``) or the path of a
decoder file written by ``depthstyle train`` (safetensors with the encoder recorded in its
metadata).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from torch import nn

from depthstyle.errors import WeightsError
from depthstyle.models.decoder import SkipDecoder, compact_decoder
from depthstyle.models.encoder import Encoder
from depthstyle.models.lite0 import lite0_encoder
from depthstyle.models.vgg import adain_decoder_sequential, random_vgg19_encoder, vgg19_encoder

__all__ = [
    "Encoder",
    "StyleModel",
    "ENCODERS",
    "DEFAULT_DECODER_WIDTHS",
    "DEFAULT_DECODE_LEVEL",
    "DECODER_KINDS",
    "build_encoder",
    "build_decoder",
    "load_model",
    "save_decoder",
    "count_parameters",
]

ENCODERS = ("lite0", "random-vgg19", "vgg19")
# "compact": v1, decodes the deepest tap only; "skip": v2, reads every tap up to the decoded one.
DECODER_KINDS = ("compact", "skip")
# Tap the decoder inverts (0-based): Lite0's expand5 (1/8, like VGG's relu4_1), VGG's relu4_1.
DEFAULT_DECODE_LEVEL = {"lite0": 2, "random-vgg19": 3, "vgg19": 3}
# Channels per decoder scale, deepest first (see compact_decoder); one scale per factor of 2.
DEFAULT_DECODER_WIDTHS = {
    "lite0": (128, 64, 32, 16),
    "random-vgg19": (256, 128, 64, 32),
    "vgg19": (256, 128, 64, 32),
}


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
        """0-based levels restyled when the settings name none.

        A single-input decoder: the decoded level (classic AdaIN). A skip decoder reads every
        level up to the decoded one, so all of them are restyled; otherwise the photo's own
        shallow features would carry its texture into a fully stylized output.
        """
        if isinstance(self.decoder, SkipDecoder):
            return tuple(range(self.decode_level + 1))
        return (self.decode_level,)


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
    from depthstyle import weights as W

    if name == "lite0":
        enc = lite0_encoder()
        wf = W.get_entry("depthstyle-lite0").files["encoder"]
        W.load_state_dict_strict(enc, W.load_state_dict_file(W.fetch_file(wf)), what=wf.filename)
        return enc
    if name == "random-vgg19":
        return random_vgg19_encoder(seed=seed)
    if name == "vgg19":
        wf = W.REGISTRY["vgg19-adain"].files["encoder"]
        return vgg19_encoder(state_dict=W.load_state_dict_file(W.fetch_file(wf, download=download),
                                                               wf.format))
    raise WeightsError(f"unknown encoder {name!r}; choose one of {', '.join(ENCODERS)}")


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
    if entry.encoder == "vgg19":
        encoder = build_encoder("vgg19", download=download)
        wf = entry.files["decoder"]
        decoder = adain_decoder_sequential()
        W.load_state_dict_strict(
            decoder, W.load_state_dict_file(W.fetch_file(wf, download=download), wf.format),
            what=f"AdaIN decoder ({wf.filename})")
        return StyleModel(encoder, decoder.eval(), entry.name, {"encoder": "vgg19"})
    path = W.fetch_file(entry.files["decoder"], download=download)
    model = _load_decoder_file(path, download=download)
    model.name = entry.name
    return model


def count_parameters(module: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in module.parameters())
