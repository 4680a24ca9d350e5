"""The bundled model, offline, on the shipped example (the README's main job)."""

from pathlib import Path

import pytest
import torch

from depthstyle import DepthMapFile, StyleSettings, Stylizer, load_model
from depthstyle.evaluation.metrics import colour_distance, near_mask
from depthstyle.io import load_image
from depthstyle.weights import get_entry

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def stylizer():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEPTHSTYLE_OFFLINE", "1")
        return Stylizer(load_model("depthstyle-lite0"), device="cpu")


def test_bundled_parameter_counts(stylizer):
    counts = get_entry("depthstyle-lite0").num_params
    model = stylizer.engine.model
    assert sum(p.numel() for p in model.decoder.parameters()) == counts["decoder"]
    assert sum(p.numel() for p in model.strength_net.parameters()) == counts["strength"]
    assert model.decode_level == 2 and model.downsampling == 8


def test_example_is_stylized_and_near_regions_keep_content(stylizer):
    content, style = EXAMPLES / "books.jpg", EXAMPLES / "woman_with_hat.jpg"
    depth = DepthMapFile(EXAMPLES / "books.disparity.png", "disparity")
    aware = stylizer(content, style, StyleSettings(offset=0.0, contrast=20.0), depth=depth)
    uniform = stylizer(content, style, StyleSettings(depth_aware=False))
    recon = stylizer(content, style, StyleSettings(alpha=0.0)).image
    img = aware.content
    assert aware.image.shape == img.shape == (1, 3, 370, 463)
    assert 0 <= float(aware.image.min()) and float(aware.image.max()) <= 1
    # the output takes the style's colours
    s = load_image(style)
    assert colour_distance(uniform.image, s) < colour_distance(img, s)
    # near (by ground truth): depth-aware stays closer to the content reconstruction
    near = near_mask(aware.proximity)
    err_aware = (aware.image - recon).abs().mean(1, keepdim=True)[near].mean()
    err_uniform = (uniform.image - recon).abs().mean(1, keepdim=True)[near].mean()
    assert err_aware < 0.5 * err_uniform
    assert torch.equal(aware.strength > 0.5, aware.proximity < aware.proximity.mean())


def test_bundled_learned_strength(stylizer):
    """The bundled model carries a trained module: it runs and differs from the hand-set maps."""
    content, style = EXAMPLES / "books.jpg", EXAMPLES / "woman_with_hat.jpg"
    depth = DepthMapFile(EXAMPLES / "books.disparity.png", "disparity")
    hand = stylizer(content, style, StyleSettings(alpha=0.8), depth=depth)
    learned = stylizer(content, style, StyleSettings(alpha=0.8, learned_strength=True),
                       depth=depth)
    assert learned.image.shape == hand.image.shape
    assert 0 <= float(learned.strength.min()) and float(learned.strength.max()) <= 0.8 + 1e-6
    assert (learned.strength - hand.strength).abs().mean() > 0.01  # trained, not the init
