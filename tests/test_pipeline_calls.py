"""What one ``Stylizer`` call hands on: defaults, depth sources, masks, style sizes, origins.

Written against the pipeline's mutation survivors (docs/testing.md). The
references are computed here: resized maps with ``F.interpolate``, statistics from the engine
on an image resized in the test, exact messages, and an engine spy that records the job the
pipeline renders.
"""

from __future__ import annotations

import copy
import logging
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from conftest import make_image
from depthstyle.depth import AutoDepth, ConstantDepth, DepthMapFile, DepthOrigin
from depthstyle.engines import TorchEngine
from depthstyle.errors import ImageReadError, ImageTooLargeError, SettingsError
from depthstyle.io import resize_image, save_image
from depthstyle.models.strength_net import StrengthNet
from depthstyle.pipeline import StyleSettings, Stylizer


@pytest.fixture()
def st(tiny_model):
    return Stylizer(tiny_model, depth=None)


@pytest.fixture()
def learned(tiny_model):
    """A learned strength module whose maps depend on the style (perturbed from the identity
    by a small random amount: levels 2 and 3 then move by 0.05-0.09 between styles, measured)."""
    model = copy.deepcopy(tiny_model)
    net = StrengthNet(3, groups=1)
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.05)
    model.strength_net = net
    return Stylizer(model, depth=None)


def spy_render(st):
    jobs = []
    real = st.engine.render

    def render(job):
        jobs.append(job)
        return real(job)

    st.engine.render = render
    return jobs


# -- construction -------------------------------------------------------------------------------

def test_documented_defaults_reach_the_engine(tiny_model):
    st = Stylizer(tiny_model)
    eng = st.engine
    assert isinstance(eng, TorchEngine)
    assert eng.device == torch.device("cpu") and st.device == torch.device("cpu")
    assert (eng.tile_size, eng.tile_margin, eng.border) == (2048, 64, 16)
    assert eng.memory_format == torch.channels_last and eng.dtype == torch.float32
    assert st.cache_size == 16 and st.cache_info()["max_size"] == 16
    # depth "auto" by default, its model on the engine's device
    assert isinstance(st.depth, AutoDepth) and st.depth.device == eng.device
    custom = Stylizer(tiny_model, depth=None, tile_size=512, tile_margin=32, border=8,
                      channels_last=False, cache_size=3)
    e = custom.engine
    assert (e.tile_size, e.tile_margin, e.border) == (512, 32, 8)
    assert e.memory_format == torch.contiguous_format and custom.cache_size == 3


def test_the_default_model_is_the_bundled_default():
    from depthstyle.models import load_model

    assert Stylizer(depth=None).model_name == load_model("depthstyle-lite0").name


def test_depth_specs_become_sources(tiny_model, tmp_path):
    assert isinstance(Stylizer(tiny_model, depth=None).depth, ConstantDepth)
    assert isinstance(Stylizer(tiny_model, depth="none").depth, ConstantDepth)
    path = tmp_path / "scene.disparity.png"
    Image.fromarray(np.full((4, 6), 100, np.uint8)).save(path)
    src = Stylizer(tiny_model, depth=path).depth
    assert isinstance(src, DepthMapFile) and src.path == path and src.kind == "disparity"


class _EngineOnDevice:
    """The attributes ``Stylizer.__init__`` reads of an engine, on a chosen device."""

    supports_masks = False

    def __init__(self, device=None):
        if device is not None:
            self.device = device


def test_the_depth_model_follows_the_engine_device():
    meta = Stylizer(engine=_EngineOnDevice(torch.device("meta")))
    assert meta.depth.device == torch.device("meta")
    # an engine without a device (onnxruntime's own threads): the depth model runs on the CPU
    assert Stylizer(engine=_EngineOnDevice()).depth.device == "cpu"


def test_the_pixel_limit_applies_to_paths(tiny_model, tmp_path):
    photo = save_image(make_image(20, 20, 1), tmp_path / "p.png")
    with pytest.raises(ImageTooLargeError):
        Stylizer(tiny_model, depth=None, max_pixels=100).load_content(photo, StyleSettings())
    assert Stylizer(tiny_model, depth=None, max_pixels=400).load_content(
        photo, StyleSettings(content_size=None)).shape == (1, 3, 20, 20)


# -- the style cache ----------------------------------------------------------------------------

def _bmp(path, seed, mtime_ns):
    """An uncompressed image: the same size in bytes whatever the pixels."""
    save_image(make_image(16, 16, seed), path, overwrite=True)
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def test_style_cache_tells_files_apart_by_path_time_and_size(st, tmp_path):
    a = _bmp(tmp_path / "a.bmp", 1, 10**18)
    b = _bmp(tmp_path / "b.bmp", 2, 10**18)
    assert a.stat().st_size == b.stat().st_size
    sa, sb = st.style_stats(a, None), st.style_stats(b, None)
    assert not torch.equal(sa[0][0], sb[0][0])  # same size and time, other path
    _bmp(a, 3, 2 * 10**18)  # same size, new time: read again
    sa2 = st.style_stats(a, None)
    assert not torch.equal(sa2[0][0], sa[0][0])
    # same time, other size: read again
    save_image(make_image(16, 20, 4), a, overwrite=True)
    os.utime(a, ns=(2 * 10**18, 2 * 10**18))
    sa3 = st.style_stats(a, None)
    assert not torch.equal(sa3[0][0], sa2[0][0])
    assert st.cache_info()["hits"] == 0
    assert st.style_stats(a, None) is sa3
    assert st.style_stats(a, None) is sa3
    assert st.cache_info()["hits"] == 2


def test_a_missing_style_is_a_clear_read_error(st, tmp_path):
    with pytest.raises(ImageReadError, match="missing.png"):
        st.style_stats(tmp_path / "missing.png")


def test_style_statistics_at_the_asked_size(st):
    big = make_image(600, 700, 5)
    ref = st.engine.style_stats(resize_image(big, 512, upscale=False))
    got = st.style_stats(big)  # default size 512
    for (m, s), (rm, rs) in zip(got, ref, strict=True):
        torch.testing.assert_close(m, rm)
        torch.testing.assert_close(s, rs)
    small = st.style_stats(big, 64)
    ref64 = st.engine.style_stats(resize_image(big, 64, upscale=False))
    torch.testing.assert_close(small[-1][1], ref64[-1][1])


def test_the_call_uses_the_style_size_and_the_histogram_recolouring(st):
    content, style = make_image(24, 32, 1), make_image(96, 96, 2)
    seen = []
    real = st._style_entry

    def spy(s, size, recolor_to, *, texture):
        seen.append((size, recolor_to, texture))
        return real(s, size, recolor_to, texture=texture)

    st._style_entry = spy
    st(content, style, StyleSettings(content_size=None, style_size=48))
    assert seen[-1][0] == 48 and seen[-1][1] is None and seen[-1][2]
    st(content, style, StyleSettings(content_size=None, style_size=40,
                                     preserve_color="histogram", texture_match=0))
    size, recolor, texture = seen[-1]
    assert size == 40 and torch.equal(recolor, content) and not texture


# -- depth sources and origins ------------------------------------------------------------------

def _disparity(path, h=16, w=24):
    Image.fromarray(np.tile(np.linspace(10, 250, w, dtype=np.uint8), (h, 1))).save(path)
    return path


def test_the_stylizers_own_depth_source_is_used(tiny_model, tmp_path):
    path = _disparity(tmp_path / "scene.disparity.png")
    st = Stylizer(tiny_model, depth=path)
    content = torch.rand(1, 3, 16, 24)
    p = st.proximity(content, StyleSettings())
    assert float(p[0, 0, 4, -1]) > 0.9 and float(p[0, 0, 4, 0]) < 0.1  # right side near
    out = st(content, make_image(16, 16, 3), StyleSettings(content_size=None))
    assert out.depth_origin == DepthOrigin("file", "scene.disparity.png", "disparity")
    assert torch.equal(out.proximity, p)


def test_a_map_beside_the_photo_is_found_for_a_path(tiny_model, tmp_path, caplog):
    photo = save_image(make_image(16, 24, 1), tmp_path / "room.png")
    _disparity(tmp_path / "room.disparity.png")
    st = Stylizer(tiny_model)  # depth "auto"
    src = st.depth_source(photo)
    assert isinstance(src, DepthMapFile) and src.path.name == "room.disparity.png"
    with caplog.at_level(logging.INFO, logger="depthstyle.pipeline"):
        out = st(photo, make_image(16, 16, 3), StyleSettings(content_size=None))
    assert out.depth_origin == DepthOrigin("beside", "room.disparity.png", "disparity")
    assert ("room.png: depth from the map beside the photo room.disparity.png, read as "
            "disparity") in caplog.text
    # given per call, a path is read as a map
    other = _disparity(tmp_path / "other.disparity.png")
    given = st.depth_source(photo, other)
    assert isinstance(given, DepthMapFile) and given.path == other


def test_origins_of_tensors_given_strength_and_off(st):
    content, style = make_image(16, 24, 1), make_image(16, 16, 3)
    prox = torch.rand(1, 1, 16, 24)
    out = st(content, style, StyleSettings(content_size=None), depth=prox)
    assert out.depth_origin == DepthOrigin("given", "tensor")
    off = st(content, style, StyleSettings(content_size=None, depth_aware=False), depth=prox)
    assert off.depth_origin == DepthOrigin("off")
    given = st(content, style, StyleSettings(content_size=None),
               strength=torch.full((1, 1, 16, 24), 0.5))
    assert given.depth_origin == DepthOrigin("given", "strength map")


def test_the_result_carries_the_content_the_model_saw(st):
    content = make_image(40, 60, 1)
    out = st(content, make_image(16, 16, 3), StyleSettings(content_size=30))
    assert torch.equal(out.content, resize_image(content, 30, upscale=False))


# -- masks --------------------------------------------------------------------------------------

def test_mask_aspect_tolerance_is_two_percent_of_the_content(st):
    content, style = make_image(16, 24, 1), make_image(16, 16, 3)  # aspect 1.5
    settings = StyleSettings(content_size=None)
    ok = torch.rand(1, 2, 40, 61)  # aspect 1.525: 1.7 % off
    st(content, [style, style], settings, masks=ok)
    with pytest.raises(SettingsError, match="mask aspect ratio"):
        st(content, [style, style], settings, masks=torch.rand(1, 2, 40, 62))  # 3.3 % off


def test_masks_are_resized_bilinearly_to_the_content(st):
    jobs = spy_render(st)
    content, style = make_image(16, 24, 1), make_image(16, 16, 3)
    masks = torch.rand(1, 2, 8, 12)
    st(content, [style, style], StyleSettings(content_size=None), masks=masks)
    ref = F.interpolate(masks, size=(16, 24), mode="bilinear", align_corners=False)
    assert torch.equal(jobs[-1].masks, ref)


# -- learned strength ---------------------------------------------------------------------------

def test_learned_strength_messages(st, learned):
    with pytest.raises(SettingsError) as exc:
        st.check(StyleSettings(learned_strength=True))
    assert str(exc.value) == ("model tiny has no learned strength module; train one with "
                              "`depthstyle train --learn-strength` (or use the PyTorch backend)")
    with pytest.raises(SettingsError) as exc:
        learned.check(StyleSettings(learned_strength=True, levels=("1",)))
    assert str(exc.value) == "learned strength sets every level itself; drop --levels"
    content, style = make_image(16, 24, 1), make_image(16, 16, 3)
    with pytest.raises(SettingsError) as exc:
        learned(content, style, StyleSettings(learned_strength=True),
                strength=torch.rand(1, 1, 16, 24))
    assert str(exc.value) == ("learned strength makes its own maps from proximity; it cannot "
                              "take one given strength map")
    prox = torch.rand(1, 1, 16, 24)
    stats = [learned.style_stats(style, None)]
    for c, s in ((None, stats), (content, None), (content, [])):
        with pytest.raises(ValueError) as exc:
            learned.strength(prox, StyleSettings(learned_strength=True), c, s)
        assert str(exc.value) == "learned strength needs the content and the style statistics"


def test_learned_strength_mixes_the_styles_by_their_weights(learned):
    content, prox = make_image(16, 24, 1), make_image(16, 24, 9)[:, :1]
    a, b = learned.style_stats(make_image(32, 32, 3), None), \
        learned.style_stats(make_image(32, 32, 7), None)
    settings = StyleSettings(learned_strength=True)
    only_a = learned.strength(prox, settings, content, [a])
    weighted = learned.strength(prox, StyleSettings(learned_strength=True,
                                                    style_weights=(1.0, 0.0)),
                                content, [a, b])
    equal = learned.strength(prox, settings, content, [a, b])
    for x, y in zip(only_a, weighted, strict=True):
        torch.testing.assert_close(x, y)
    assert max(float((x - y).abs().max()) for x, y in zip(only_a, equal, strict=True)) > 0.02


def test_given_per_level_maps_reach_every_level(learned):
    jobs = spy_render(learned)
    content, style = make_image(16, 24, 1), make_image(16, 16, 3)
    maps = [torch.full((1, 1, 8, 12), v) for v in (0.2, 0.5, 0.9)]
    maps[2][..., :6] = 0.1
    out = learned(content, style, StyleSettings(content_size=None, learned_strength=True),
                  strength=maps)
    job = jobs[-1]
    assert isinstance(job.strength, list) and len(job.strength) == 3
    for got, m in zip(job.strength, maps, strict=True):
        ref = F.interpolate(m, size=(16, 24), mode="bilinear", align_corners=False)
        assert torch.equal(got, ref)
    assert list(job.levels) == [0, 1, 2]
    assert torch.equal(out.strength, job.strength[-1])  # what the result shows: the last map


# -- exact messages and a caller's own depth source ---------------------------------------------

def _message(exc_type, fn):
    with pytest.raises(exc_type) as exc:
        fn()
    return str(exc.value)


def test_refusals_say_exactly_what_is_wrong(st, learned):
    content, style = make_image(16, 24, 1), make_image(16, 16, 3)
    assert _message(SettingsError, lambda: st(content, [], StyleSettings())) == \
        "at least one style is required"
    assert _message(SettingsError, lambda: st(
        content, [style, style], StyleSettings(style_weights=(1, 1, 1)))) == \
        "3 style weights for 2 styles"
    assert _message(SettingsError, lambda: learned(
        content, [style, style], StyleSettings(learned_strength=True),
        masks=torch.rand(1, 2, 16, 24))) == \
        "learned strength cannot be combined with style masks"
    nan = torch.full((1, 3, 4, 4), float("nan"))
    assert _message(ValueError, lambda: st.load_content(nan, StyleSettings())) == \
        "image tensor contains NaN or infinite values"
    assert _message(ValueError, lambda: st.proximity(
        content, StyleSettings(), torch.full((4, 4), float("inf")))) == \
        "proximity tensor contains NaN or infinite values"


def test_masks_are_refused_by_an_engine_without_them():
    class NoMasks(_EngineOnDevice):
        name = "onnx:lite0"

    st = Stylizer(engine=NoMasks(torch.device("cpu")), depth=None)
    style = make_image(16, 16, 3)
    assert _message(SettingsError, lambda: st(make_image(16, 24, 1), [style, style],
                                              masks=torch.rand(1, 2, 16, 24))) == \
        "spatial style masks are not supported by onnx:lite0; use the PyTorch backend"


def test_a_callable_depth_source_is_clamped_to_proximity(st):
    content = make_image(16, 24, 1)
    seen = []

    def source(img):  # a caller's own model, out of range on purpose
        seen.append(img)
        return img[:, :1] * 3 - 1

    p = st.proximity(content, StyleSettings(), source)
    assert torch.equal(seen[0], content)
    assert torch.equal(p, (content[:, :1] * 3 - 1).clamp(0, 1))
    assert float(p.min()) == 0.0 and float(p.max()) == 1.0


def test_from_onnx_hands_folder_threads_and_border_to_the_engine(monkeypatch, tmp_path):
    """The arguments alone (the ONNX round trip itself: tests/export/test_export_onnx.py)."""
    import depthstyle.engines.onnx_engine as onnx_engine

    made = []

    class Recorder(_EngineOnDevice):
        def __init__(self, folder, *, threads=None, border=16):
            super().__init__(torch.device("cpu"))
            made.append((folder, threads, border))

    monkeypatch.setattr(onnx_engine, "OnnxEngine", Recorder)
    st = Stylizer.from_onnx(tmp_path / "export", depth=None)
    assert made[-1] == (tmp_path / "export", None, 16) and isinstance(st.engine, Recorder)
    st = Stylizer.from_onnx(tmp_path / "x", threads=3, border=8, depth=None, max_pixels=99)
    assert made[-1] == (tmp_path / "x", 3, 8)
    assert isinstance(st.depth, ConstantDepth) and st.max_pixels == 99
