"""The pipeline on a CUDA GPU: same results as the CPU, fp16 close to fp32, the invariants hold.

Skipped where no CUDA device exists (the CI machine); run on a CUDA machine with
``python -m pytest tests/test_cuda.py`` (research/gpu/gpu_session.sh does).
"""

from __future__ import annotations

import pytest
import torch

from depthstyle import StyleSettings, Stylizer
from depthstyle.ops import adain, calc_mean_std

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def _inputs(h: int = 128, w: int = 160, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    content = torch.rand(1, 3, h, w, generator=g)
    style = torch.rand(1, 3, 96, 96, generator=g)
    prox = torch.linspace(0, 1, w).view(1, 1, 1, w).expand(1, 1, h, w).contiguous()
    return content, style, prox


def test_adain_on_cuda_has_style_statistics():
    g = torch.Generator().manual_seed(1)
    c = (torch.randn(2, 64, 20, 24, generator=g) * 3 + 1).cuda()
    s = (torch.randn(2, 64, 16, 16, generator=g) * 0.5 - 2).cuda()
    out_mean, out_std = calc_mean_std(adain(c, s))
    s_mean, s_std = calc_mean_std(s)
    assert torch.allclose(out_mean, s_mean, atol=1e-4)
    assert torch.allclose(out_std, s_std, rtol=1e-3)


@pytest.mark.parametrize("detail", ["blend", "residual", "off"])
def test_bundled_model_cuda_matches_cpu(detail):
    content, style, prox = _inputs()
    settings = StyleSettings(content_size=None, style_size=None, detail=detail)
    cpu = Stylizer(device="cpu", depth=None)(content, style, settings, depth=prox).image
    gpu = Stylizer(device="cuda", depth=None)(content, style, settings, depth=prox).image
    assert gpu.device.type == "cpu" or gpu.is_cuda  # whichever the API returns, compare on CPU
    diff = (gpu.float().cpu() - cpu).abs()
    assert float(diff.max()) < 2e-2 and float(diff.mean()) < 1e-3


def test_half_precision_close_to_fp32():
    content, style, prox = _inputs(seed=2)
    settings = StyleSettings(content_size=None, style_size=None)
    full = Stylizer(device="cuda", depth=None)(content, style, settings, depth=prox).image
    half = Stylizer(device="cuda", depth=None, half=True)(content, style, settings,
                                                          depth=prox).image
    half = half.float().cpu()
    assert torch.isfinite(half).all()
    assert float(half.min()) >= 0 and float(half.max()) <= 1
    assert float((half - full.float().cpu()).abs().mean()) < 1e-2


def test_alpha_zero_gives_the_photo_back_on_cuda():
    content, style, prox = _inputs(seed=3)
    settings = StyleSettings(content_size=None, style_size=None, alpha=0.0)
    out = Stylizer(device="cuda", depth=None)(content, style, settings, depth=prox).image
    assert float((out.float().cpu() - content).abs().max()) < 1e-4


@pytest.fixture
def no_tf32():
    """Full fp32 convolutions: cuDNN's TF32 default (on an H200, 2026-11-27) alone moved single
    pixels by up to 0.0065 between tiled and whole runs, which hides the seams this test looks
    for."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def test_tiled_matches_untiled_on_cuda(no_tf32):
    content, style, prox = _inputs(200, 264, seed=4)
    settings = StyleSettings(content_size=None, style_size=None)
    whole = Stylizer(device="cuda", depth=None, tile_size=None)(content, style, settings,
                                                                depth=prox).image
    tiled = Stylizer(device="cuda", depth=None, tile_size=96, tile_margin=64)(
        content, style, settings, depth=prox).image
    assert float((tiled.float().cpu() - whole.float().cpu()).abs().max()) < 1e-3
