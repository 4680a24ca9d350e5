"""How good is the model itself? Reconstruction, border bands, and style specificity.

These measure the *decoder*, not the depth-aware method (docs/metrics.md, "Model quality"):

* **Reconstruction**: PSNR and luminance SSIM between the photo and the output at strength 0,
  by the decoder alone (``detail="off"``) and as users get it (the default ``detail="blend"``,
  which must give the photo back: PSNR inf when it is exact).
* **Border bands**: mean absolute error of the decoder's reconstruction in the outer ``band``
  pixels divided by the mean error inside; 1 = no band.
* **Style specificity**: how differently the model paints two styles. For two styles A and B
  and one photo, the texture distance between the two outputs divided by the texture distance
  between the two paintings, in a loss network the model was not trained with. Colour-blind
  (luminance only), so it measures brushwork, not palette: a model that only recolours scores
  near 0, one that reproduces each painting's texture near 1. Two texture descriptors:
  Gram matrices of the independent network (Gatys et al. 2016), and a hand-made
  gradient-orientation/magnitude histogram that involves no network at all.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from depthstyle.color import luminance
from depthstyle.evaluation.metrics import gram, ssim, style_distances
from depthstyle.settings import StyleSettings
from depthstyle.texture import DEFAULT_TEXTURE_MATCH

__all__ = ["psnr", "border_ratio", "gradient_descriptor", "texture_features", "texture_distance",
           "texture_feature_distance", "pair_distances", "style_specificity", "model_quality",
           "summarize_quality"]


def psnr(x: torch.Tensor, y: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB of two images in [0, 1] (inf when identical)."""
    mse = float(F.mse_loss(x.double(), y.double()))
    return math.inf if mse == 0 else 10 * math.log10(1.0 / mse)


def border_ratio(x: torch.Tensor, y: torch.Tensor, band: int = 16) -> float:
    """Mean |x - y| in the outer ``band`` pixels divided by the mean inside (1 = no band).

    Raises:
        ValueError: the images are too small to have an inside.
    """
    h, w = x.shape[-2:]
    if h <= 2 * band or w <= 2 * band:
        raise ValueError(f"a {w}x{h} image has no inside with a {band}-px band")
    err = (x.double() - y.double()).abs().mean(1, keepdim=True)
    inner = torch.zeros_like(err, dtype=torch.bool)
    inner[..., band: h - band, band: w - band] = True
    return float(err[~inner].mean() / err[inner].mean().clamp_min(1e-12))


def gradient_descriptor(img: torch.Tensor, bins: int = 12, scales: int = 3) -> torch.Tensor:
    """A colour-blind texture descriptor: gradient orientations and magnitudes at 3 scales.

    For each scale (the luminance halved each time) it concatenates a magnitude-weighted
    histogram of gradient orientations (``bins`` over [0, pi)) and a histogram of gradient
    magnitudes, each normalised to sum to 1. Returns a 1-D tensor.
    """
    y = luminance(img.double())
    kx = torch.tensor([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=y.dtype)[None, None] / 8
    out = []
    for _ in range(scales):
        gx = F.conv2d(F.pad(y, (1, 1, 1, 1), mode="replicate"), kx)
        gy = F.conv2d(F.pad(y, (1, 1, 1, 1), mode="replicate"), kx.transpose(-1, -2))
        mag = torch.sqrt(gx ** 2 + gy ** 2).flatten()
        ang = torch.remainder(torch.atan2(gy, gx), math.pi).flatten()
        idx = (ang / math.pi * bins).long().clamp(0, bins - 1)
        orient = torch.zeros(bins, dtype=y.dtype).index_add_(0, idx, mag)
        out.append(orient / orient.sum().clamp_min(1e-12))
        edges = torch.tensor([0.0, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 1e9], dtype=y.dtype)
        hist = torch.histogram(mag.float(), bins=edges.float())[0].double()
        out.append(hist / hist.sum().clamp_min(1))
        y = F.avg_pool2d(y, 2)
    return torch.cat(out)


def texture_features(img: torch.Tensor, loss_net=None) -> dict[str, object]:
    """Colour-blind texture descriptors of one image (see :func:`texture_distance`)."""
    out: dict[str, object] = {"gradient": gradient_descriptor(img)}
    if loss_net is not None:
        with torch.inference_mode():
            out["gram"] = [gram(f) for f in loss_net(luminance(img).expand(-1, 3, -1, -1))]
    return out


def texture_feature_distance(a: dict, b: dict) -> dict[str, float]:
    """:func:`texture_distance` of two images' precomputed :func:`texture_features`."""
    d = {"gradient": float((a["gradient"] - b["gradient"]).abs().sum())}
    if "gram" in a and "gram" in b:
        d["gram"] = sum(float(F.mse_loss(x, y)) for x, y in zip(a["gram"], b["gram"],
                                                                   strict=True))
    return d


def pair_distances(features: dict) -> dict[tuple, dict[str, float]]:
    """:func:`texture_feature_distance` of every pair of ``{key: texture_features}``, in order."""
    return {(a, b): texture_feature_distance(features[a], features[b])
            for a, b in itertools.combinations(features, 2)}


def style_specificity(outputs: dict, paintings: dict[tuple, dict[str, float]]
                      ) -> dict[tuple, dict[str, float]]:
    """Per pair of styles: the texture distance of one photo's two outputs / of the paintings.

    Args:
        outputs: ``{style: texture_features(output for that style)}`` of one photo.
        paintings: :func:`pair_distances` of the paintings' texture features (same keys).
    """
    return {pair: {k: d[k] / max(paintings[pair][k], 1e-12) for k in d}
            for pair, d in pair_distances(outputs).items()}


def texture_distance(a: torch.Tensor, b: torch.Tensor, loss_net=None) -> dict[str, float]:
    """Colour-blind texture distances of two images: ``gram`` (loss network) and ``gradient``.

    ``gram`` is the summed Gram-matrix distance of the luminance (replicated to RGB) in
    ``loss_net`` (omitted without one); ``gradient`` the L1 distance of
    :func:`gradient_descriptor`.
    """
    return texture_feature_distance(texture_features(a, loss_net), texture_features(b, loss_net))


def model_quality(stylizer, contents: Sequence[Path], styles: Sequence[Path], *, size: int = 384,
                  specificity_contents: int = 20, loss_net=None, progress: bool = True,
                  texture_match: float = DEFAULT_TEXTURE_MATCH) -> tuple[list[dict], dict]:
    """Measure reconstruction, border bands and style specificity of a stylizer's model.

    Args:
        stylizer: a :class:`~depthstyle.pipeline.Stylizer`.
        contents: photos (all are used for reconstruction and borders).
        styles: at least two paintings for specificity (all pairs are used).
        size: content size (longer side).
        specificity_contents: how many of the contents also get every style (cost grows with
            contents x styles; pair distances reuse each output's descriptors).
        loss_net: the independent network for Gram distances and style distances (``None``
            leaves those columns out).
        texture_match: the stylized outputs' texture match (see
            :class:`~depthstyle.settings.StyleSettings`); it does not act at strength 0.

    Returns:
        ``(rows, summary)``: one row per content (and per content x style, and per content x
        style pair) and the medians.
    """
    from tqdm.auto import tqdm

    rows: list[dict] = []
    plain = StyleSettings(alpha=0.0, depth_aware=False, detail=False, content_size=size)
    back = StyleSettings(alpha=0.0, depth_aware=False, detail=True, content_size=size)
    full = StyleSettings(alpha=1.0, depth_aware=False, content_size=size,
                         texture_match=texture_match)
    style_small = {s: stylizer.load_style(s, StyleSettings(style_size=256)) for s in styles}
    style_tex = {s: texture_features(img, loss_net) for s, img in style_small.items()}
    style_feats = {}
    if loss_net is not None:
        with torch.inference_mode():
            style_feats = {s: loss_net(img) for s, img in style_small.items()}
    style_d = pair_distances(style_tex)
    for i, c in enumerate(tqdm(contents, desc="quality", disable=None if progress else True)):
        photo = stylizer.load_content(c, plain)
        rec = stylizer(photo, styles[0], plain).image
        rec_d = stylizer(photo, styles[0], back).image
        row = {"content": Path(c).name, "psnr": psnr(rec, photo), "ssim": ssim(rec, photo),
               "psnr_detail": psnr(rec_d, photo), "ssim_detail": ssim(rec_d, photo)}
        try:
            row["border_ratio"] = border_ratio(rec, photo)
        except ValueError:
            row["border_ratio"] = float("nan")
        rows.append(row)
        if i >= specificity_contents or len(styles) < 2:
            continue
        tex = {}
        for s in styles:
            out = stylizer(photo, s, full).image
            small = F.interpolate(out, scale_factor=256 / max(out.shape[-2:]), mode="area")
            tex[s] = texture_features(small, loss_net)
            if loss_net is not None:
                with torch.inference_mode():
                    d = style_distances(loss_net(small), style_feats[s])
                rows.append({"content": Path(c).name, "style": Path(s).name,
                             "style_meanstd": d["meanstd"], "style_gram": d["gram"]})
        for (a, b), spec in style_specificity(tex, style_d).items():
            rows.append({"content": Path(c).name, "style_a": Path(a).name,
                         "style_b": Path(b).name,
                         **{f"specificity_{k}": v for k, v in spec.items()}})
    return rows, summarize_quality(rows)


def summarize_quality(rows: Sequence[dict]) -> dict:
    """Medians (and, for border ratios, the maximum) of every measured column (NaNs left out)."""
    keys = sorted({k for r in rows for k, v in r.items() if isinstance(v, float)})
    summary: dict[str, float | int] = {}
    for k in keys:
        # identical images have PSNR inf (the default output at strength 0): keep it
        vals = torch.tensor([r[k] for r in rows if k in r and not math.isnan(r[k])],
                            dtype=torch.float64)
        if len(vals):
            summary[f"median_{k}"] = float(vals.median())
            summary[f"n_{k}"] = len(vals)
    b = [r["border_ratio"] for r in rows if math.isfinite(r.get("border_ratio", math.nan))]
    if b:
        summary["max_border_ratio"] = max(b)
        summary["share_border_ratio_le_1.5"] = sum(x <= 1.5 for x in b) / len(b)
    return summary
