"""Is style specificity limited by the decoder or by the loss it was trained with?

For the first N photos of the small validation split and its 8 paintings, three outputs per
(photo, painting) at alpha 1, 256 px:

* ``decoder``: the bundled model's feed-forward output (what users get);
* ``optimized-meanstd``: an image optimised in the model's encoder (Lite0) with the mean/std
  style loss the decoder was trained with (``depthstyle.optimize``, L-BFGS from the photo);
* ``optimized-gram``: the same with Gram matrices (Gatys et al. 2016);
* ``refined-patch`` (with ``--patch-weight W``): the decoder's output refined by ``--steps``
  L-BFGS iterations of the mean/std loss plus W times the pixel-patch sliced Wasserstein term
  (``depthstyle optimize --init adain --patch-weight W``; docs/method.md §6 and §8).

Each is scored with the quality evaluation's style specificity (docs/metrics.md: texture
distance of two outputs of one photo / texture distance of the two paintings, colour-blind;
gradient descriptor and random-VGG Gram matrices, a network none of the three was made with)
and style distance to the painting (mean/std in the random VGG). If the optimised images,
which carry the loss's optimum for each pair, are no more specific than the decoder, the loss
network is the ceiling; if they are far more specific, the decoder (capacity, training) is.

    python research/specificity_ceiling.py --photos 4 --steps 60 \
        --out research/research/results/specificity_ceiling.json
    python research/specificity_ceiling.py --photos 2 --steps 20 --patch-weight 100 \
        --only refined-patch decoder --out research/research/results/specificity_patch.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from depthstyle import StyleSettings, Stylizer
from depthstyle.evaluation.metrics import style_distances
from depthstyle.evaluation.quality import pair_distances, style_specificity, texture_features
from depthstyle.evaluation.runner import loss_network_for
from depthstyle.optimize import OptimizeConfig, optimize_image
from depthstyle.training.data import read_split

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT.parent / "shared" / "train"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="depthstyle-lite0")
    ap.add_argument("--split", type=Path,
                    default=ROOT / "benchmarks" / "validation-split-small.json")
    ap.add_argument("--photos", type=int, default=4)
    ap.add_argument("--steps", type=int, default=60, help="L-BFGS iterations per image")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--gram-weight", type=float, default=10.0,
                    help="style weight of the Gram run (the mean/std run uses the default 10)")
    ap.add_argument("--patch-weight", type=float, default=0.0,
                    help="also run 'refined-patch' with this patch-term weight (e.g. 100)")
    ap.add_argument("--only", nargs="+", default=None, metavar="METHOD",
                    help="run only these methods (decoder, optimized-meanstd, optimized-gram, "
                         "refined-patch)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    split = read_split(args.split)
    photos = [TRAIN / "content" / n for n in split["content"][: args.photos]]
    styles = [TRAIN / "style" / n for n in split["style"]]
    st = Stylizer(args.model, device="cpu", depth=None)
    _, net = loss_network_for(st.encoder_name)
    settings = StyleSettings(alpha=1.0, depth_aware=False, content_size=args.size,
                             style_size=512)
    small = {s: st.load_style(s, StyleSettings(style_size=256)) for s in styles}
    style_tex = {s: texture_features(img, net) for s, img in small.items()}
    with torch.inference_mode():
        style_feats = {s: net(img) for s, img in small.items()}
    style_d = pair_distances(style_tex)
    methods = {
        "decoder": lambda c, s: st(c, s, settings).image,
        "optimized-meanstd": lambda c, s: optimize_image(
            st, c, s, settings, OptimizeConfig(steps=args.steps, style_loss="meanstd"),
            progress=False).image,
        "optimized-gram": lambda c, s: optimize_image(
            st, c, s, settings, OptimizeConfig(steps=args.steps, style_loss="gram",
                                               style_weight=args.gram_weight),
            progress=False).image,
    }
    if args.patch_weight > 0:
        methods["refined-patch"] = lambda c, s: optimize_image(
            st, c, s, settings, OptimizeConfig(steps=args.steps, init="adain",
                                               patch_weight=args.patch_weight),
            progress=False).image
    results = {}
    for name, run in methods.items():
        if args.only and name not in args.only:
            continue
        t0 = time.perf_counter()
        spec: dict[str, list[float]] = {"gradient": [], "gram": []}
        dist = []
        for photo in photos:
            content = st.load_content(photo, settings)
            tex = {}
            for s in styles:
                out = run(content, s)
                out = F.interpolate(out, scale_factor=256 / max(out.shape[-2:]), mode="area")
                tex[s] = texture_features(out, net)
                with torch.inference_mode():
                    dist.append(style_distances(net(out), style_feats[s])["meanstd"])
            for pair in style_specificity(tex, style_d).values():
                for k in spec:
                    spec[k].append(pair[k])
        results[name] = {"specificity_gradient": statistics.median(spec["gradient"]),
                         "specificity_gram": statistics.median(spec["gram"]),
                         "style_meanstd": statistics.median(dist), "pairs": len(spec["gram"]),
                         "seconds": time.perf_counter() - t0}
        print(name, json.dumps(results[name]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    command = vars(args) | {"out": str(args.out), "split": os.path.relpath(args.split, ROOT)}
    args.out.write_text(json.dumps({"command": command, "torch": torch.__version__,
                                    "results": results}, indent=1))


if __name__ == "__main__":
    main()
