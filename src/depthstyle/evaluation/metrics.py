"""Metrics of a stylized image against its content, its style and the scene's depth.

Definitions and references are in docs/metrics.md. All functions take (1, C, H, W) tensors
(images RGB in [0, 1]; depth-like maps with 1 channel) and an optional boolean region mask
(1, 1, H, W); they return Python floats.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from depthstyle.color import luminance
from depthstyle.ops import calc_mean_std

__all__ = [
    "gram",
    "style_distances",
    "content_distance",
    "ssim",
    "edge_map",
    "edge_fscore",
    "near_mask",
    "ssi_rmse",
    "spearman",
    "colour_stats",
    "colour_distance",
]


def gram(f: torch.Tensor) -> torch.Tensor:
    """Normalised Gram matrix (B, C, C) of (B, C, H, W) features."""
    b, c, h, w = f.shape
    x = f.flatten(2)
    return x @ x.transpose(1, 2) / (c * h * w)


def style_distances(out_feats: Sequence[torch.Tensor], style_feats: Sequence[torch.Tensor]
                    ) -> dict[str, float]:
    """Mean/std distance and Gram distance summed over taps (Huang & Belongie 2017; Gatys 2016).

    ``meanstd`` = sum_i ||mu_i(o) - mu_i(s)||^2 / C_i + ||sigma_i(o) - sigma_i(s)||^2 / C_i;
    ``gram`` = sum_i ||G_i(o) - G_i(s)||_F^2 / C_i^2.
    """
    ms, gr = 0.0, 0.0
    for o, s in zip(out_feats, style_feats, strict=True):
        om, osd = calc_mean_std(o)
        sm, ssd = calc_mean_std(s)
        ms += float(F.mse_loss(om, sm) + F.mse_loss(osd, ssd))
        gr += float(F.mse_loss(gram(o), gram(s)))
    return {"meanstd": ms, "gram": gr}


def content_distance(out_feat: torch.Tensor, content_feat: torch.Tensor) -> float:
    """Relative feature distance ||f(o) - f(c)||^2 / ||f(c)||^2 at one tap (0 = identical)."""
    return float(F.mse_loss(out_feat, content_feat) / content_feat.pow(2).mean().clamp_min(1e-12))


def _masked_mean(x: torch.Tensor, mask: torch.Tensor | None) -> float:
    if mask is None:
        return float(x.mean())
    m = mask.to(x.dtype)
    return float((x * m).sum() / m.sum().clamp_min(1))


def ssim(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None = None,
         window: int = 11, sigma: float = 1.5) -> float:
    """SSIM of the luminance (Wang et al., IEEE TIP 2004), Gaussian window, averaged over mask.

    Images are RGB (or 1-channel) in [0, 1]; C1 = 0.01^2, C2 = 0.03^2. Identical images give 1.
    """
    a, b = luminance(x).double(), luminance(y).double()
    coords = torch.arange(window, dtype=torch.float64) - window // 2
    g = torch.exp(-coords ** 2 / (2 * sigma ** 2))
    g = (g / g.sum()).to(a)
    kx, ky = g.view(1, 1, 1, -1), g.view(1, 1, -1, 1)

    def blur(t):
        t = F.pad(t, (window // 2,) * 4, mode="reflect")
        return F.conv2d(F.conv2d(t, kx), ky)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a ** 2
    var_b = blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) *
                                                     (var_a + var_b + c2))
    return _masked_mean(s, mask)


def edge_map(img: torch.Tensor, fraction: float = 0.1) -> torch.Tensor:
    """Binary edges: the ``fraction`` of pixels with the largest Sobel gradient magnitude."""
    a = luminance(img).float()
    kx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]]).view(1, 1, 3, 3).to(a)
    p = F.pad(a, (1, 1, 1, 1), mode="replicate")
    gx, gy = F.conv2d(p, kx), F.conv2d(p, kx.transpose(2, 3))
    mag = torch.sqrt(gx ** 2 + gy ** 2)
    k = max(1, int(round(mag.numel() * (1 - fraction))))
    thresh = mag.flatten().kthvalue(k).values
    return (mag > thresh) & (mag > 1e-6)


def edge_fscore(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None = None,
                fraction: float = 0.1, tolerance: int = 1) -> float:
    """F-score between the edge maps of ``x`` and ``y`` with a spatial tolerance (pixels).

    Precision = share of x's edges within ``tolerance`` of a y edge; recall the converse; both
    counted inside ``mask``. Identical images give 1.
    """
    ex, ey = edge_map(x, fraction), edge_map(y, fraction)
    k = 2 * tolerance + 1
    dx = F.max_pool2d(ex.float(), k, 1, tolerance) > 0
    dy = F.max_pool2d(ey.float(), k, 1, tolerance) > 0
    m = torch.ones_like(ex) if mask is None else mask.bool()
    nx, ny = (ex & m).sum(), (ey & m).sum()
    if nx == 0 or ny == 0:
        return 1.0 if nx == ny else 0.0
    precision = float((ex & dy & m).sum() / nx)
    recall = float((ey & dx & m).sum() / ny)
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def near_mask(proximity: torch.Tensor, fraction: float = 1 / 3,
              valid: torch.Tensor | None = None) -> torch.Tensor:
    """Boolean mask of the nearest ``fraction`` of (valid) pixels by proximity (1 = nearest)."""
    vals = proximity[valid] if valid is not None else proximity.flatten()
    k = max(1, int(round(vals.numel() * (1 - fraction))))
    thresh = vals.flatten().kthvalue(k).values
    m = proximity > thresh
    return m & valid if valid is not None else m


def ssi_rmse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    """Scale-and-shift-invariant RMSE (Ranftl et al., MiDaS, TPAMI 2022).

    ``pred`` is aligned to ``target`` by least squares (``s * pred + t``) over the mask, then the
    RMSE is divided by the target's std over the mask, so 0 = perfect up to scale and shift and
    ~1 = no better than a constant. Use the same space (e.g. proximity/inverse depth) for both.
    """
    m = torch.ones_like(target, dtype=torch.bool) if mask is None else mask.bool()
    p, t = pred[m].double(), target[m].double()
    a = torch.stack([p, torch.ones_like(p)], 1)
    sol = torch.linalg.lstsq(a, t.unsqueeze(1)).solution.flatten()
    resid = a @ sol - t
    return float(resid.pow(2).mean().sqrt() / t.std(unbiased=False).clamp_min(1e-12))


def _rank(x: torch.Tensor) -> torch.Tensor:
    order = x.argsort()
    ranks = torch.empty_like(order, dtype=torch.float64)
    ranks[order] = torch.arange(x.numel(), dtype=torch.float64)
    # average ranks of ties
    uniq, inverse = torch.unique(x, return_inverse=True)
    if uniq.numel() < x.numel():
        sums = torch.zeros(uniq.numel(), dtype=torch.float64).index_add_(0, inverse, ranks)
        counts = torch.zeros(uniq.numel(), dtype=torch.float64).index_add_(
            0, inverse, torch.ones_like(ranks))
        ranks = (sums / counts)[inverse]
    return ranks


def spearman(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    """Spearman rank correlation of two depth-like maps over the mask (1 = same ordering)."""
    m = torch.ones_like(target, dtype=torch.bool) if mask is None else mask.bool()
    rp, rt = _rank(pred[m].double()), _rank(target[m].double())
    rp, rt = rp - rp.mean(), rt - rt.mean()
    den = (rp.pow(2).sum() * rt.pow(2).sum()).sqrt()
    return float((rp * rt).sum() / den) if den > 0 else 0.0


def colour_stats(img: torch.Tensor) -> dict[str, float]:
    """Mean RGB, mean luminance, and mean saturation (HSV) of an image."""
    mx, mn = img.amax(1), img.amin(1)
    sat = torch.where(mx > 1e-6, (mx - mn) / mx.clamp_min(1e-6), torch.zeros_like(mx))
    r, g, b = (float(c) for c in img.mean((0, 2, 3)))
    return {"mean_r": r, "mean_g": g, "mean_b": b,
            "luma": float(luminance(img).mean()), "saturation": float(sat.mean())}


def colour_distance(x: torch.Tensor, y: torch.Tensor) -> float:
    """Distance of RGB means and covariances: ||mu_x - mu_y|| + ||C_x - C_y||_F."""
    fx, fy = x.flatten(2)[0].double(), y.flatten(2)[0].double()
    return float((fx.mean(1) - fy.mean(1)).norm() + (torch.cov(fx) - torch.cov(fy)).norm())
