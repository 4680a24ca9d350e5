"""The transformers backend on a tiny random Depth Anything saved in the real format."""

import pytest
import torch

pytest.importorskip("transformers")

from depthstyle.depth import load_transformers_depth, make_depth_source  # noqa: E402
from depthstyle.errors import DepthStyleError  # noqa: E402


def test_loads_from_folder_and_returns_proximity(tiny_depth_dir):
    depth = load_transformers_depth(str(tiny_depth_dir))
    assert depth.input_size(60, 90) == (56, 84)
    img = torch.rand(2, 3, 60, 90)
    p = depth(img)
    assert p.shape == (2, 1, 60, 90)
    assert float(p.min()) >= 0 and float(p.max()) <= 1 and float(p.max()) > 0.5
    assert not p.requires_grad


def test_predict_is_differentiable(tiny_depth_dir):
    depth = load_transformers_depth(str(tiny_depth_dir))
    img = torch.rand(1, 3, 56, 56, requires_grad=True)
    depth.predict(img).sum().backward()
    assert img.grad is not None and float(img.grad.abs().sum()) > 0


def test_auto_source_uses_model_once_per_image(tiny_depth_dir):
    src = make_depth_source("auto", model=str(tiny_depth_dir), resolution=28)
    assert src.model().size == (28, 28)
    a, b = torch.rand(1, 3, 40, 40), torch.rand(1, 3, 40, 40)
    first = src(a)
    assert first.shape == (1, 1, 40, 40)
    assert torch.equal(src(a), first) and src.evaluations == 1  # the same photo again: cached
    src(b)
    assert src.evaluations == 2


def test_absent_model_gives_offline_instructions(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(DepthStyleError, match=r"not on this machine.*depthstyle weights download "
                                              r"depth-anything-v2-small"):
        load_transformers_depth("depth-anything/Depth-Anything-V2-Small-hf")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DepthStyleError, match="not a loadable depth model folder"):
        load_transformers_depth(str(tmp_path / "empty"))


class _RampDepth(torch.nn.Module):
    """A stand-in 'metric' depth model: predicted depth grows from left to right."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(()))

    def forward(self, pixel_values):
        b, _, h, w = pixel_values.shape
        ramp = torch.linspace(1.0, 5.0, w).view(1, 1, w).expand(b, h, w)
        return type("Out", (), {"predicted_depth": ramp * self.w})()


def test_training_proximity_agrees_with_inference_for_metric_models():
    """The strength trainer's proximity must flip metric depth like TransformersDepth does."""
    from types import SimpleNamespace

    from depthstyle.depth import TransformersDepth
    from depthstyle.training.strength_trainer import StrengthTrainer

    backend = TransformersDepth(_RampDepth(), size=(28, 28), multiple=14, metric=True)
    img = torch.rand(1, 3, 28, 42)
    want = backend(img)
    assert float(want[..., :5].mean()) > 0.9 and float(want[..., -5:].mean()) < 0.1  # left near
    fake = SimpleNamespace(depth_fn=backend.relative_proximity, config=None)
    got = StrengthTrainer.proximity(fake, img, 0)
    torch.testing.assert_close(got, want)
