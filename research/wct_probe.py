"""Would a whitening-colouring transform (WCT) instead of AdaIN make outputs more style-specific?

WCT (Li et al., NeurIPS 2017) gives the content features the style's full channel covariance
instead of only its per-channel mean and std. Here it replaces AdaIN at the decoded level of the
bundled model (alpha 1, no retraining, no border padding) for the first N photos of the small
validation split and its 8 paintings at 384 px; both variants are scored with the quality
evaluation's style specificity and style distance (docs/metrics.md). A probe, not a feature:

    python research/wct_probe.py --photos 6
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch
import torch.nn.functional as F

from depthstyle.evaluation.metrics import style_distances
from depthstyle.evaluation.quality import pair_distances, style_specificity, texture_features
from depthstyle.evaluation.runner import loss_network_for
from depthstyle.io import load_image
from depthstyle.models import load_model
from depthstyle.ops import adain
from depthstyle.training.data import read_split

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT.parent / "shared" / "train"


def _scaled(path: Path, size: int, multiple: int = 8) -> torch.Tensor:
    x = load_image(path)
    x = F.interpolate(x, scale_factor=size / max(x.shape[-2:]), mode="area",
                      recompute_scale_factor=False)
    h, w = x.shape[-2:]
    return x[..., : h // multiple * multiple, : w // multiple * multiple]


def _mean_cov(f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    v = f.reshape(f.shape[1], -1).double()
    mu = v.mean(1, keepdim=True)
    v = v - mu
    return mu, v @ v.T / (v.shape[1] - 1)


def wct(content: torch.Tensor, style: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Whiten ``content``'s (1, C, h, w) features, colour them with ``style``'s covariance."""
    c = content.shape[1]
    eye = torch.eye(c, dtype=torch.float64)
    mc, cc = _mean_cov(content)
    ms, cs = _mean_cov(style)
    ec, vc = torch.linalg.eigh(cc + eps * eye)
    es, vs = torch.linalg.eigh(cs + eps * eye)
    whiten = vc @ torch.diag(ec.clamp_min(eps).rsqrt()) @ vc.T
    colour = vs @ torch.diag(es.clamp_min(eps).sqrt()) @ vs.T
    out = colour @ (whiten @ (content.reshape(c, -1).double() - mc)) + ms
    return out.float().reshape(content.shape)


def probe_setup(model: str):
    """What the probes share: the small split, the model, the independent loss network, the
    paintings' loss-network features (256 px), deep features (512 px) and pair distances."""
    split = read_split(ROOT / "benchmarks" / "validation-split-small.json")
    styles = split["style"]
    m = load_model(model).eval()
    enc, top = m.encoder, m.decode_level
    _, net = loss_network_for(enc.name)
    small = {s: _scaled(TRAIN / "style" / s, 256, 1) for s in styles}
    tex_s = {s: texture_features(v, net) for s, v in small.items()}
    with torch.inference_mode():
        feats_s = {s: net(v) for s, v in small.items()}
        deep_s = {s: enc(_scaled(TRAIN / "style" / s, 512), upto=top)[-1] for s in styles}
    return split, m, net, feats_s, deep_s, pair_distances(tex_s)


def score(outputs, net, feats_s: dict, style_d: dict) -> tuple[float, float, float, int]:
    """Medians of style specificity (gradient, Gram) and style distance (mean/std) of outputs.

    ``outputs`` yields, per photo, ``{painting: (1, 3, H, W) output}``; each output is scored at
    256 px like the quality evaluation. Returns the three medians and the number of pairs.
    """
    spec: dict[str, list[float]] = {"gradient": [], "gram": []}
    dist = []
    for per_style in outputs:
        tex = {}
        for s, out in per_style.items():
            out = F.interpolate(out, scale_factor=256 / max(out.shape[-2:]), mode="area")
            with torch.inference_mode():
                tex[s] = texture_features(out, net)
                dist.append(style_distances(net(out), feats_s[s])["meanstd"])
        for pair in style_specificity(tex, style_d).values():
            for k in spec:
                spec[k].append(pair[k])
    return (statistics.median(spec["gradient"]), statistics.median(spec["gram"]),
            statistics.median(dist), len(spec["gram"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="depthstyle-lite0")
    ap.add_argument("--photos", type=int, default=6)
    ap.add_argument("--size", type=int, default=384)
    args = ap.parse_args()
    split, m, net, feats_s, deep_s, style_d = probe_setup(args.model)
    styles = split["style"]
    enc, dec, top = m.encoder, m.decoder, m.decode_level
    for name, transfer in (("adain", adain), ("wct", wct)):
        def photos(transfer=transfer):
            for photo in split["content"][: args.photos]:
                with torch.inference_mode():
                    f = enc(_scaled(TRAIN / "content" / photo, args.size), upto=top)
                    yield {s: dec([*f[:-1], transfer(f[-1], deep_s[s])], 1.0).clamp(0, 1)
                           for s in styles}

        grad, gram, dist, pairs = score(photos(), net, feats_s, style_d)
        print(f"{name}: specificity gradient {grad:.3f}, Gram {gram:.3f}; style distance "
              f"mean/std {dist:.3f} ({pairs} pairs)", flush=True)

if __name__ == "__main__":
    main()
