"""Optimisation baseline: losses, monotone L-BFGS, per-pixel strength weighting, CLI."""

from __future__ import annotations

import json

import pytest
import torch

from conftest import make_image
from depthstyle.errors import SettingsError
from depthstyle.ops import calc_mean_std
from depthstyle.optimize import OptimizeConfig, optimize_image
from depthstyle.pipeline import StyleSettings, Stylizer
from depthstyle.training.losses import gram_matrix, tv_loss, weighted_mean_std


@pytest.fixture()
def stylizer(tiny_model):
    return Stylizer(tiny_model, device="cpu")


def test_weighted_statistics_reduce_to_plain_ones():
    f = torch.randn(2, 5, 7, 9)
    ones = torch.ones(2, 1, 7, 9) * 0.3
    for a, b in zip(weighted_mean_std(f, ones), calc_mean_std(f, 1e-5), strict=True):
        assert torch.allclose(a, b, atol=1e-5)
    assert torch.allclose(gram_matrix(f, ones), gram_matrix(f), atol=1e-5)
    # weights select pixels: a 0/1 mask gives the statistics of the selected pixels only
    mask = torch.zeros(2, 1, 7, 9)
    mask[..., :3] = 1
    m, _ = weighted_mean_std(f, mask)
    assert torch.allclose(m, f[..., :3].mean((2, 3), keepdim=True), atol=1e-5)
    assert tv_loss(torch.ones(1, 3, 8, 8)) == 0 and tv_loss(torch.rand(1, 3, 8, 8)) > 0


def test_lbfgs_lowers_the_loss_monotonically(stylizer):
    cfg = OptimizeConfig(steps=12, optimizer="lbfgs", tv_weight=0.1)
    r = optimize_image(stylizer, make_image(32, 32, 1), make_image(32, 32, 2),
                       StyleSettings(alpha=0.8, depth_aware=False), cfg, progress=False)
    totals = [h["total"] for h in r.history]
    assert len(totals) == 13
    assert all(b <= a * (1 + 1e-6) for a, b in zip(totals, totals[1:], strict=False)), totals
    assert totals[-1] < 0.9 * totals[0], totals
    assert set(r.history[-1]) >= {"content", "style", "tv", "total", "seconds"}
    assert r.image.shape == (1, 3, 32, 32) and 0 <= r.image.min() and r.image.max() <= 1


def test_adam_and_gram_lower_the_loss(stylizer):
    cfg = OptimizeConfig(steps=30, optimizer="adam", style_loss="gram", init="adain")
    r = optimize_image(stylizer, make_image(32, 32, 3), make_image(32, 32, 4),
                       StyleSettings(depth_aware=False), cfg, progress=False)
    assert r.history[-1]["total"] < r.history[0]["total"]
    assert not torch.equal(r.init, make_image(32, 32, 3))  # started from the AdaIN output


def test_patch_term_moves_the_image_toward_the_paintings_patches(stylizer):
    from depthstyle.training.losses import patch_swd_loss

    content, style = make_image(48, 48, 7), make_image(48, 48, 8)
    settings = StyleSettings(alpha=1.0, depth_aware=False, content_size=48, style_size=48)

    def run(weight: float):
        cfg = OptimizeConfig(steps=8, patch_weight=weight, init="adain")
        return optimize_image(stylizer, content, style, settings, cfg, progress=False)

    plain, patched = run(0.0), run(100.0)
    assert "patch" not in plain.history[-1] and patched.history[0]["patch"] > 0
    # L-BFGS's objective is deterministic (fixed directions): the loss never rises
    totals = [h["total"] for h in patched.history]
    assert all(b <= a * (1 + 1e-6) for a, b in zip(totals, totals[1:], strict=False)), totals
    assert patched.history[-1]["patch"] < 0.9 * patched.history[0]["patch"]
    painting = stylizer.load_style(style, settings)
    assert float(patch_swd_loss(patched.image, painting)) < float(
        patch_swd_loss(plain.image, painting))
    # nothing is stylized at alpha 0: the term is zero, the content stays
    kept = optimize_image(stylizer, content, style, StyleSettings(alpha=0.0, content_size=48),
                          OptimizeConfig(steps=3, patch_weight=100.0), progress=False)
    assert all(h["patch"] == 0.0 for h in kept.history)
    with pytest.raises(SettingsError, match="weights"):
        OptimizeConfig(patch_weight=-1.0).validate()


def test_zero_strength_keeps_the_content(stylizer):
    content = make_image(32, 32, 5)
    r = optimize_image(stylizer, content, make_image(32, 32, 6),
                       StyleSettings(alpha=0.0), OptimizeConfig(steps=5), progress=False)
    assert r.history[0]["total"] < 1e-6  # nothing to do: no style asked for, content is kept
    assert (r.image - content).abs().max() < 2e-3  # only the [1e-3, 1-1e-3] logit clamp


def test_strength_weights_the_style_loss_per_pixel(stylizer):
    """Left half near (strength ~0), right half far (strength ~1): only the right changes."""
    content = make_image(32, 64, 7)
    prox = torch.zeros(1, 1, 32, 64)
    prox[..., :32] = 1.0
    r = optimize_image(stylizer, content, make_image(48, 48, 8),
                       StyleSettings(offset=0.0, contrast=200), OptimizeConfig(steps=15),
                       depth=prox, progress=False)
    assert r.strength[..., :24].max() < 0.05 and r.strength[..., 40:].min() > 0.95
    change = (r.image - content).abs().mean(1)
    assert change[..., 40:].mean() > 3 * change[..., :24].mean()


def test_depth_loss_term(stylizer):
    def toy_depth(x):  # differentiable image -> "depth"
        return torch.nn.functional.avg_pool2d(x.mean(1, keepdim=True), 4)

    cfg = OptimizeConfig(steps=3, depth_weight=1.0)
    r = optimize_image(stylizer, make_image(32, 32), make_image(32, 32, 1), StyleSettings(),
                       cfg, depth_fn=toy_depth, progress=False)
    assert "depth" in r.history[-1]
    with pytest.raises(SettingsError, match="depth model"):
        optimize_image(stylizer, make_image(32, 32), make_image(32, 32, 1), StyleSettings(),
                       cfg, progress=False)
    with pytest.raises(SettingsError, match="steps"):
        optimize_image(stylizer, make_image(32, 32), make_image(32, 32, 1),
                       config=OptimizeConfig(steps=0), progress=False)


def test_cli_optimize(image_files, tmp_path):
    from depthstyle.cli import main

    content, style = image_files
    out, log = tmp_path / "opt.png", tmp_path / "opt.json"
    args = ["optimize", str(content), "-s", str(style), "-o", str(out), "--steps", "3",
            "--content-size", "48", "--log", str(log), "--save-maps", "-q"]
    assert main(args) == 0
    assert out.exists() and (tmp_path / "opt.strength.png").exists()
    data = json.loads(log.read_text())
    assert len(data["history"]) == 4 and data["config"]["optimizer"] == "lbfgs"
    assert main(args) == 1  # exists, no --overwrite
    with pytest.raises(SystemExit) as e:
        main(args[:-1] + ["--steps", "0", "-q"])
    assert e.value.code == 2
