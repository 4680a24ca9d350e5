"""Turn a decoder training run into a bundled decoder file (docs/model-card.md).

Reads the run's checkpoint, builds its decoder, carries over the learned strength module of
the bundled model (trained with v1 and carried over unchanged since; the model card says so),
and writes the decoder file with the run's metadata. Prints the sha256 and parameter counts for
the registry. The recipes in training/ call it:

    python tools/finalize_decoder.py runs/lite0-v4/checkpoint.pt \
        -o src/depthstyle/assets/lite0-decoder-v4.safetensors          # the bundled model
    python tools/finalize_decoder.py runs/lite0-v2/checkpoint.pt --trunk \
        -o weights/lite0-decoder-v2.safetensors                        # v2 ships its trunk
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from depthstyle.models import (
    build_decoder,
    build_encoder,
    count_parameters,
    load_model,
    save_decoder,
)
from depthstyle.weights import sha256_of


def trunk_of(skip, enc, widths, level):
    """The compact decoder equal to ``skip`` with its skips closed (their inputs dropped)."""
    trunk = build_decoder(enc, widths, level, "compact")
    src = [t for k, t in skip.state_dict().items() if not k.startswith("skips.")]
    with torch.no_grad():
        for d, s in zip(trunk.state_dict().values(), src, strict=True):
            d.copy_(s[:, : d.shape[1]] if s.ndim == 4 and s.shape[1] != d.shape[1] else s)
    return trunk


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--note", default="", help="recorded as the 'training' metadata entry")
    ap.add_argument("--trunk", action="store_true",
                    help="ship the trunk alone (a compact decoder): what the skip decoder computes "
                         "with its skips closed")
    args = ap.parse_args()
    ck = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    cfg = json.loads(ck["config"])
    enc = build_encoder("lite0")
    dec = build_decoder(enc, tuple(ck["widths"]), ck["decode_level"], cfg["decoder"],
                        cfg["skip_width"])
    dec.load_state_dict(ck["decoder"])
    kind, skip_width = cfg["decoder"], cfg["skip_width"]
    if args.trunk:
        dec, kind = trunk_of(dec, enc, tuple(ck["widths"]), ck["decode_level"]), "compact"
    v1 = load_model("depthstyle-lite0")  # its strength module is v1's, carried over
    extra = {"steps": str(ck["step"]), "size": str(cfg["size"]),
             "batch_size": str(cfg["batch_size"]), "style_weight": str(cfg["style_weight"]),
             "pixel_weight": str(cfg["pixel_weight"]), "init_from": str(cfg["init_from"]),
             "mix_style": str(cfg.get("mix_style", 0.0)),
             "strength_module": "carried over from depthstyle-lite0-v1 (not retrained)"}
    if args.note:
        extra["training"] = args.note
    save_decoder(dec, args.output, encoder=enc, widths=tuple(ck["widths"]),
                 decode_level=ck["decode_level"], kind=kind,
                 skip_width=skip_width, extra=extra, overwrite=True,
                 strength_net=v1.strength_net)
    print(json.dumps({"file": str(args.output), "sha256": sha256_of(args.output),
                      "step": ck["step"], "decoder_params": count_parameters(dec),
                      "strength_params": count_parameters(v1.strength_net),
                      "bytes": args.output.stat().st_size}, indent=2))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
