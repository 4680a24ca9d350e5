"""ONNX export and the onnxruntime backend: parity with PyTorch, dynamic sizes, bad exports."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from conftest import make_image
from depthstyle.errors import OutputExistsError, SettingsError, WeightsError
from depthstyle.pipeline import StyleSettings, Stylizer
from depthstyle.strength import strength_from_proximity
from depthstyle.texture import match_texture, texture_stats
from depthstyle.weights import resolve_name

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from depthstyle.export import OnnxEngine, export_onnx, load_manifest  # noqa: E402

# Stated tolerance of the onnxruntime backend vs PyTorch (float32, CPU), checked below. The
# measured difference is about 3e-6 on images in [0, 1].
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx") / "lite0"
    export_onnx("depthstyle-lite0", folder)
    return folder


@pytest.fixture(scope="module")
def torch_stylizer():
    return Stylizer("depthstyle-lite0", device="cpu")


@pytest.fixture(scope="module")
def onnx_stylizer(exported):
    return Stylizer.from_onnx(exported)


def test_manifest(exported):
    m = load_manifest(exported)
    assert m["model"] == resolve_name("depthstyle-lite0") and m["downsampling"] == 8
    assert m["level_names"] == ["expand1", "expand3", "expand5"]
    assert set(m["files"]) == {"style_stats", "stylize", "reconstruct", "strength"}
    assert m["encoder"] == "lite0" and m["version"] == 2


@pytest.mark.parametrize("size, settings", [
    ((64, 96), StyleSettings()),
    ((75, 130), StyleSettings(alpha=0.6, contrast=4, offset=0.4)),  # not multiples of 8: padded
    ((120, 40), StyleSettings(levels=(1, 2, 3), invert=True)),
    ((64, 64), StyleSettings(preserve_color="luminance", alpha=0.8)),
    ((56, 72), StyleSettings(alpha=0.7, detail="residual")),  # the reconstruct graph
    ((56, 72), StyleSettings(alpha=0.7, detail="off")),
])
def test_outputs_match_pytorch(torch_stylizer, onnx_stylizer, size, settings):
    content = make_image(*size, seed=3)
    style = make_image(72, 88, seed=4)
    g = torch.Generator().manual_seed(0)
    prox = torch.nn.functional.interpolate(torch.rand(1, 1, 6, 6, generator=g), size=size,
                                           mode="bilinear", align_corners=False)
    # the engines are compared without the texture step: on images this small its histogram
    # maps are steep and magnify the engines' float differences (1e-5) about 300-fold; the step
    # itself is one piece of pipeline code for both (test_the_texture_step_runs_after_onnx)
    engines_only = replace(settings, texture_match=0)
    a = torch_stylizer(content, style, engines_only, depth=prox)
    b = onnx_stylizer(content, style, engines_only, depth=prox)
    assert b.image.shape == a.image.shape == (1, 3, *size)
    assert (a.image - b.image).abs().max().item() < TOLERANCE
    assert (a.strength - b.strength).abs().max().item() < TOLERANCE


def test_the_texture_step_runs_after_onnx(onnx_stylizer):
    content, style = make_image(64, 96, seed=3), make_image(72, 88, seed=4)
    plain = StyleSettings(alpha=0.8, depth_aware=False)
    raw = onnx_stylizer(content, style, replace(plain, texture_match=0))
    out = onnx_stylizer(content, style, plain)
    want = match_texture(raw.image, texture_stats(style), raw.strength)
    torch.testing.assert_close(out.image, want, atol=1e-6, rtol=0)
    assert (out.image - raw.image).abs().mean().item() > 1e-3


def test_style_interpolation_and_batch(torch_stylizer, onnx_stylizer):
    content = torch.cat([make_image(48, 64, 1), make_image(48, 64, 2)])
    styles = [make_image(64, 64, 5), make_image(64, 64, 6)]
    s = StyleSettings(style_weights=(0.3, 0.7), depth_aware=False, alpha=0.9)
    a = torch_stylizer(content, styles, s).image
    b = onnx_stylizer(content, styles, s).image
    assert b.shape == (2, 3, 48, 64) and (a - b).abs().max().item() < TOLERANCE


def test_strength_graph_matches_transform(exported):
    sess = ort.InferenceSession(str(exported / "strength.onnx"), providers=["CPUExecutionProvider"])
    p = torch.rand(2, 1, 13, 17)
    for offset, contrast, alpha, invert in [(0.2, 10.0, 1.0, False), (0.0, 0.0, 0.5, True),
                                            (1.0, 50.0, 0.3, False)]:
        feeds = {"proximity": p.numpy(), **{k: np.array([v], np.float32) for k, v in (
            ("offset", offset), ("contrast", contrast), ("alpha", alpha),
            ("invert", float(invert)))}}
        got = sess.run(None, feeds)[0]
        want = strength_from_proximity(p, offset, contrast, alpha=alpha, invert=invert).numpy()
        assert np.abs(got - want).max() < 1e-6
    flat = {"proximity": np.full((1, 1, 5, 5), 0.3, np.float32),
            **{k: np.array([v], np.float32) for k, v in (("offset", 0.2), ("contrast", 10.0),
                                                         ("alpha", 0.7), ("invert", 0.0))}}
    assert np.allclose(sess.run(None, flat)[0], 0.7)  # a flat map means uniform alpha


def test_alpha_zero_is_content_reconstruction(torch_stylizer, onnx_stylizer):
    content = make_image(64, 64, 9)
    a = onnx_stylizer(content, make_image(64, 64, 1), StyleSettings(alpha=0.0)).image
    b = onnx_stylizer(content, make_image(64, 64, 2), StyleSettings(alpha=0.0)).image
    assert torch.equal(a, b)  # the style has no influence at alpha 0


def test_masks_refused(onnx_stylizer):
    with pytest.raises(SettingsError, match="masks"):
        onnx_stylizer(make_image(32, 32), [make_image(32, 32), make_image(32, 32, 1)],
                      masks=torch.ones(1, 2, 32, 32) / 2)


def test_export_refuses_to_overwrite(exported):
    with pytest.raises(OutputExistsError):
        export_onnx("depthstyle-lite0", exported)


def test_corrupt_or_incomplete_export(exported, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(exported, bad)
    data = bytearray((bad / "stylize.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bad / "stylize.onnx").write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256"):
        OnnxEngine(bad)
    (bad / "stylize.onnx").unlink()
    with pytest.raises(WeightsError, match="missing"):
        OnnxEngine(bad)
    with pytest.raises(WeightsError, match="no manifest"):
        OnnxEngine(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(WeightsError, match="not a depthstyle ONNX export"):
        OnnxEngine(tmp_path)


def test_cli_backend_onnxruntime(exported, tmp_path, image_files):
    from PIL import Image

    from depthstyle.cli import main

    content, style = image_files
    out_t, out_o = tmp_path / "t.png", tmp_path / "o.png"
    assert main(["stylize", str(content), "-s", str(style), "-o", str(out_t), "-q"]) == 0
    assert main(["stylize", str(content), "-s", str(style), "-o", str(out_o), "-q",
                 "--backend", "onnxruntime", "--onnx-dir", str(exported)]) == 0
    a = np.asarray(Image.open(out_t), dtype=np.int16)
    b = np.asarray(Image.open(out_o), dtype=np.int16)
    assert a.shape == b.shape and np.abs(a - b).max() <= 1  # 8-bit rounding only
    assert main(["stylize", str(content), "-s", str(style), "-s", str(style), "--mask",
                 str(content), "-o", str(tmp_path / "m.png"), "-q", "--backend", "onnxruntime",
                 "--onnx-dir", str(exported)]) == 2


def test_cli_export_and_cached_export(exported, tmp_path, image_files, monkeypatch):
    import shutil

    from depthstyle.cli import main

    assert main(["export", "--format", "onnx", "-o", str(exported), "-q"]) == 1  # exists
    # without --onnx-dir the export is looked up in the cache (made there once if missing)
    monkeypatch.setenv("DEPTHSTYLE_CACHE", str(tmp_path / "cache"))
    shutil.copytree(exported, tmp_path / "cache" / "onnx" / resolve_name("depthstyle-lite0"))
    content, style = image_files
    assert main(["stylize", str(content), "-s", str(style), "-o", str(tmp_path / "c.png"),
                 "-q", "--backend", "onnxruntime"]) == 0


def test_from_onnx_passes_its_settings_on(exported):
    from depthstyle.depth import ConstantDepth

    default = Stylizer.from_onnx(exported, depth=None)
    assert default.engine.border == 16 and default.engine.folder == exported
    st = Stylizer.from_onnx(exported, threads=1, border=8, depth=None, max_pixels=1234)
    assert isinstance(st.engine, OnnxEngine) and st.engine.border == 8
    opts = st.engine.sessions["stylize"].get_session_options()
    assert opts.intra_op_num_threads == 1
    assert isinstance(st.depth, ConstantDepth) and st.max_pixels == 1234


def test_a_negative_border_is_refused_like_the_pytorch_engine(tmp_path, tiny_model):
    from depthstyle.engines import TorchEngine

    with pytest.raises(SettingsError, match="border must be >= 0 pixels, got -8"):
        OnnxEngine(tmp_path / "not-even-read", border=-8)
    with pytest.raises(SettingsError, match="border must be >= 0 pixels, got -8"):
        TorchEngine(tiny_model, torch.device("cpu"), border=-8)
