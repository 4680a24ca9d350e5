"""Colour preservation: luminance-only transfer and colour histogram matching.

Gatys et al., "Controlling Perceptual Factors in Neural Style Transfer", CVPR 2017, section 5;
and the YIQ conversion they (and the luminance-based metrics) use.

All functions are differentiable, device-agnostic and never modify their inputs.
"""

from __future__ import annotations

import torch

from depthstyle.ops import calc_mean_std

__all__ = ["rgb_to_yiq", "yiq_to_rgb", "luminance", "luminance_transfer", "match_color_histogram"]

_RGB2YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def rgb_to_yiq(img: torch.Tensor) -> torch.Tensor:
    """Convert (B, 3, H, W) RGB to YIQ (Y = luminance)."""
    return torch.einsum("ij,bjhw->bihw", _RGB2YIQ.to(img), img)


def luminance(img: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) luminance (Y of YIQ) of RGB images; a 1-channel map is returned as it is."""
    return rgb_to_yiq(img)[:, :1] if img.shape[1] == 3 else img


def yiq_to_rgb(img: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_yiq`."""
    return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(_RGB2YIQ).to(img), img)


def luminance_transfer(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Keep the content's colours: the stylized luminance with the content's chrominance.

    Gatys et al. 2017, "luminance-only transfer" applied as post-processing. The stylized
    luminance is first matched to the content's luminance mean/std.

    Args:
        stylized, content: (B, 3, H, W) RGB in [0, 1], same size.

    Returns:
        (B, 3, H, W) RGB clamped to [0, 1].
    """
    if stylized.shape != content.shape:
        raise ValueError(f"shapes differ: {tuple(stylized.shape)} vs {tuple(content.shape)}")
    ys, yc = rgb_to_yiq(stylized), rgb_to_yiq(content)
    lum = ys[:, :1]
    m_s, s_s = calc_mean_std(lum)
    m_c, s_c = calc_mean_std(yc[:, :1])
    lum = (lum - m_s) / s_s * s_c + m_c
    return yiq_to_rgb(torch.cat([lum, yc[:, 1:]], 1)).clamp(0, 1)


def _sqrtm_psd(cov: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    evals, evecs = torch.linalg.eigh(cov)
    evals = evals.clamp_min(1e-8)
    p = -0.5 if inverse else 0.5
    return evecs @ torch.diag_embed(evals ** p) @ evecs.transpose(-1, -2)


def match_color_histogram(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Linearly recolour ``source`` so its RGB mean and covariance equal ``target``'s.

    Gatys et al. 2017 "colour histogram matching" (the Monge-Kantorovich / "image analogies"
    linear map ``x' = C_t^{1/2} C_s^{-1/2} (x - mu_s) + mu_t``). Used on the *style* image so that
    the stylization keeps the content's palette.

    Args:
        source: (B, 3, H, W) RGB to recolour.
        target: (B or 1, 3, H', W') RGB whose colour statistics to adopt.

    Returns:
        (B, 3, H, W) clamped to [0, 1].
    """
    if source.shape[1] != 3 or target.shape[1] != 3:
        raise ValueError("match_color_histogram needs RGB inputs with 3 channels")
    b = source.shape[0]
    xs = source.flatten(2).double()
    xt = target.flatten(2).double().expand(b, -1, -1)
    mu_s, mu_t = xs.mean(2, keepdim=True), xt.mean(2, keepdim=True)
    ds, dt = xs - mu_s, xt - mu_t
    eye = torch.eye(3, dtype=xs.dtype, device=xs.device) * 1e-5
    cov_s = ds @ ds.transpose(1, 2) / xs.shape[2] + eye
    cov_t = dt @ dt.transpose(1, 2) / xt.shape[2] + eye
    a = _sqrtm_psd(cov_t) @ _sqrtm_psd(cov_s, inverse=True)
    out = a @ ds + mu_t
    return out.view_as(source).to(source.dtype).clamp(0, 1)
