"""Is stylization proportional to strength? Uniform alpha 0...1 on a few validation photos.

For each alpha: the style distance of the output to the style (mean/std, random-VGG loss
network) and its luminance SSIM to the photo, averaged over the first N validation photos at
256 px (Matisse style). A well-behaved model moves monotonically from the photo (alpha 0) to the
style (alpha 1). Used in docs/model-card.md to choose how model v2 ships.

    python research/strength_sweep.py --model depthstyle-lite0-v1
    python tools/finalize_decoder.py training/lite0-v2/checkpoint.pt -o /tmp/v2-skip.safetensors
    python research/strength_sweep.py --model /tmp/v2-skip.safetensors            # gated skips
    python research/strength_sweep.py --model /tmp/v2-skip.safetensors --closed   # the trunk
    python research/strength_sweep.py --model depthstyle-lite0-v3 --detail residual
    python research/strength_sweep.py --model depthstyle-lite0-v3 --blend-power 1  # 1, 2, 3
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

import depthstyle.models.decoder as decoders
from depthstyle.evaluation.metrics import ssim, style_distances
from depthstyle.evaluation.runner import loss_network_for
from depthstyle.pipeline import StyleSettings, Stylizer

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="depthstyle-lite0")
    ap.add_argument("--closed", action="store_true", help="a skip decoder with its skips closed")
    ap.add_argument("--photos", type=int, default=3)
    ap.add_argument("--detail", choices=("blend", "residual", "off"), default="blend")
    ap.add_argument("--no-detail", dest="detail", action="store_const", const="off")
    ap.add_argument("--blend-power", type=float, default=None,
                    help="the exponent of the photo blend (default depthstyle.ops.BLEND_POWER)")
    args = ap.parse_args()
    if args.blend_power is not None:
        import depthstyle.ops

        depthstyle.ops.BLEND_POWER = args.blend_power
    if args.closed:
        forward = decoders.SkipDecoder.forward
        decoders.SkipDecoder.forward = lambda self, feats, strength: forward(self, feats, 1.0)
    st = Stylizer(args.model, device="cpu")
    _, net = loss_network_for("lite0")
    split = json.loads((ROOT / "benchmarks" / "validation-split.json").read_text())
    names = split["content"][: args.photos]
    style = SHARED / "images" / "style" / "woman_with_hat_matisse.jpg"
    with torch.inference_mode():
        style_feats = net(st.load_style(style, StyleSettings(style_size=256)))
    rows = {}
    for alpha in (0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0):
        dist, sim = [], []
        s = StyleSettings(alpha=alpha, depth_aware=False, content_size=256,
                          detail=args.detail)
        for n in names:
            photo = st.load_content(SHARED / "train" / "content" / n, s)
            out = st(photo, style, s).image
            with torch.inference_mode():
                dist.append(style_distances(net(out), style_feats)["meanstd"])
            sim.append(ssim(out, photo))
        rows[alpha] = {"style_meanstd": sum(dist) / len(dist), "ssim": sum(sim) / len(sim)}
        print(f"alpha {alpha:.1f}: style distance {rows[alpha]['style_meanstd']:.3f}, "
              f"SSIM {rows[alpha]['ssim']:.3f}", flush=True)


if __name__ == "__main__":
    main()
