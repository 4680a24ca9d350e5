"""The Stylizer's public steps one by one: loading, the style cache, levels, proximity.

Written for the pipeline's mutation survivors (docs/testing.md): each test pins one rule the
steps follow, against values computed here.
"""

import os

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import make_image
from depthstyle.errors import SettingsError
from depthstyle.io import save_image
from depthstyle.pipeline import StyleSettings, Stylizer


@pytest.fixture()
def st(tiny_model):
    return Stylizer(tiny_model, depth=None)


def test_tensors_are_checked_clamped_and_given_a_batch(st):
    img = make_image(20, 30, 1)[0] * 3 - 1  # (3, H, W), values well outside [0, 1]
    got = st.load_content(img, StyleSettings(content_size=None))
    assert got.shape == (1, 3, 20, 30)
    assert float(got.min()) == 0.0 and float(got.max()) == 1.0
    np.testing.assert_allclose(got[0].numpy(), img.clamp(0, 1).numpy())
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\) RGB, got \(1, 4, 5, 5\)"):
        st.load_content(torch.rand(1, 4, 5, 5), StyleSettings())
    bad = torch.rand(1, 3, 5, 5)
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN or infinite"):
        st.load_content(bad, StyleSettings())


def test_contents_shrink_but_never_grow_and_crop_in_the_centre(st):
    img = torch.arange(40.0).view(1, 1, 1, 40).expand(1, 3, 20, 40) / 40
    assert st.load_content(img, StyleSettings(content_size=80)).shape[-2:] == (20, 40)
    assert st.load_content(img, StyleSettings(content_size=20)).shape[-2:] == (10, 20)
    crop = st.load_content(img, StyleSettings(content_size=None, crop=True))
    assert crop.shape[-2:] == (20, 20)
    np.testing.assert_allclose(crop[0, 0, 0].numpy(), np.arange(10, 30) / 40, atol=1e-6)
    tall = img.transpose(-1, -2).contiguous()
    crop = st.load_content(tall, StyleSettings(content_size=None, crop=True))
    np.testing.assert_allclose(crop[0, 0, :, 0].numpy(), np.arange(10, 30) / 40, atol=1e-6)
    assert st.load_style(img, StyleSettings(style_size=10)).shape[-2:] == (5, 10)


def test_the_style_cache_keys_on_content_size_and_file_state(tiny_model, tmp_path):
    st = Stylizer(tiny_model, depth=None, cache_size=2)
    style = save_image(make_image(32, 32, 4), tmp_path / "s.png")
    a = st.style_stats(style, 32)
    assert st.cache_info() == {"hits": 0, "misses": 1, "size": 1, "max_size": 2}
    assert st.style_stats(str(style), 32) is a  # the same file by another spelling
    assert st.cache_info()["hits"] == 1
    st.style_stats(style, 16)  # another size is another entry
    assert st.cache_info()["misses"] == 2
    save_image(make_image(32, 32, 5), style, overwrite=True)  # the file changed
    os.utime(style, ns=(1, 1))
    b = st.style_stats(style, 32)
    assert b is not a and not torch.equal(b[0][0], a[0][0])
    assert st.cache_info()["size"] == 2  # the oldest entry was evicted
    t = make_image(24, 24, 6)
    s1 = st.style_stats(t, None)
    assert st.style_stats(t.clone(), None) is s1  # tensors are keyed by their values
    assert st.style_stats(t + 0.01, None) is not s1
    hits = st.cache_info()["hits"]
    st.style_stats(t, None, recolor_to=make_image(24, 24, 7))  # recoloured: never cached
    st.style_stats(t, None, recolor_to=make_image(24, 24, 7))
    assert st.cache_info()["hits"] == hits


def test_an_unchanged_style_tensor_is_hashed_once_and_a_changed_one_again(st, monkeypatch):
    import depthstyle.style_cache as pipeline

    calls = []
    real_sha1 = pipeline.hashlib.sha1
    monkeypatch.setattr(pipeline.hashlib, "sha1", lambda b: calls.append(1) or real_sha1(b))
    t = make_image(24, 24, 8)
    a = st.style_stats(t, None)
    assert st.style_stats(t, None) is a and st.style_stats(t, None) is a
    assert len(calls) == 1  # the same unchanged object: no second hash
    t.mul_(0.5)  # changed in place: PyTorch's version counter moves, the digest is redone
    b = st.style_stats(t, None)
    assert len(calls) == 2 and b is not a and not torch.allclose(b[0][0], a[0][0])
    t[0, 0, 0, 0] = 0.25  # an indexed write counts as in place too
    c = st.style_stats(t, None)
    assert len(calls) == 3 and c is not b
    with torch.inference_mode():  # inference tensors count no versions: hashed every time
        u = make_image(24, 24, 9).clone()
    st.style_stats(u, None)
    st.style_stats(u, None)
    assert len(calls) == 5


def test_all_finite_matches_isfinite():
    from depthstyle.ops import all_finite

    x = torch.rand(2, 3, 9, 7)
    assert all_finite(x) and all_finite(x.half()) and all_finite(x.double())
    assert all_finite(torch.full((4,), 3e38))  # large but finite
    for bad in (float("nan"), float("inf"), float("-inf")):
        y = x.clone()
        y[1, 2, 8, 6] = bad
        assert not all_finite(y) and not all_finite(y.half())
    assert all_finite(torch.empty(0)) and all_finite(torch.arange(5))
    assert all_finite(torch.ones(3, dtype=torch.bool))
    z = torch.zeros(3, dtype=torch.complex64)
    assert all_finite(z)
    z[1] = complex(0.0, float("nan"))  # the imaginary part counts too
    assert not all_finite(z)


def test_levels_are_named_sorted_refused_twice_and_bounded(st):
    names = st.level_names
    assert st._levels(StyleSettings()) == list(st.engine.default_levels)
    assert st._levels(StyleSettings(levels=("2", "1"))) == [0, 1]
    for twice in (("2", "1", "2"), ("1", "1", "1", "1", "1"), ("1", names[0])):
        with pytest.raises(SettingsError, match=rf"level {names[int(twice[0]) - 1]} is given "
                                                "more than once"):
            st._levels(StyleSettings(levels=twice))
    assert st._levels(StyleSettings(levels=(names[0],))) == [0]
    top = st.decode_level
    with pytest.raises(SettingsError, match=rf"deeper than the level this model decodes "
                                            rf"\({top + 1}, {names[top]}\); use levels "
                                            rf"1\.\.{top + 1}"):
        st.check(StyleSettings(levels=(str(top + 2),)))
    with pytest.raises(SettingsError):
        st.check(StyleSettings(levels=("nope",)))


def test_learned_strength_is_refused_with_the_reason(st):
    with pytest.raises(SettingsError, match="has no learned strength module"):
        st.check(StyleSettings(learned_strength=True))
    with pytest.raises(SettingsError, match="has no learned strength module"):
        st.strength(torch.rand(1, 1, 8, 8), StyleSettings(learned_strength=True))


def test_proximity_from_tensors_maps_and_off(st, tmp_path):
    content = torch.rand(1, 3, 16, 24)
    off = st.proximity(content, StyleSettings(depth_aware=False))
    assert off.shape == (1, 1, 16, 24) and not off.any()
    ramp = torch.linspace(-0.5, 1.5, 12).view(1, 12).expand(8, 12)  # 2-D, out of range
    p = st.proximity(content, StyleSettings(), ramp)
    assert p.shape == (1, 1, 16, 24)
    assert float(p.min()) == 0.0 and float(p.max()) == 1.0
    ref = torch.nn.functional.interpolate(ramp[None, None], size=(16, 24), mode="bilinear",
                                          align_corners=False).clamp(0, 1)
    assert torch.equal(p, ref)
    assert torch.equal(st.proximity(content, StyleSettings(), ramp[None]), ref)  # 3-D
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\), got \(1, 2, 8, 12\)"):
        st.proximity(content, StyleSettings(), torch.rand(1, 2, 8, 12))
    with pytest.raises(ValueError, match="NaN or infinite"):
        st.proximity(content, StyleSettings(), torch.full((8, 12), float("inf")))
    disparity = np.tile(np.linspace(10, 250, 24, dtype=np.uint8), (16, 1))
    Image.fromarray(disparity).save(tmp_path / "x.disparity.png")
    p = st.proximity(content, StyleSettings(), tmp_path / "x.disparity.png")
    assert float(p[0, 0, 5, -1]) > float(p[0, 0, 5, 0])  # read as disparity: right is near


def test_a_given_strength_map_is_checked_resized_clamped_and_reported(st):
    content = make_image(16, 24, 2)
    style = make_image(16, 16, 3)
    given = torch.linspace(-1, 2, 12).view(1, 1, 1, 12).expand(1, 1, 8, 12)
    out = st(content, style, StyleSettings(content_size=None), strength=given)
    ref = torch.nn.functional.interpolate(given, size=(16, 24), mode="bilinear",
                                          align_corners=False).clamp(0, 1)
    assert torch.equal(out.strength, ref)
    assert out.proximity.shape == (1, 1, 16, 24) and not out.proximity.any()
    assert out.depth_origin.source == "given"
    for bad, match in ((torch.rand(1, 2, 8, 12), r"\(B, 1, H, W\), got \(1, 2, 8, 12\)"),
                       (torch.rand(8, 12), r"finite \(B, 1, H, W\) map, got torch.Size"),
                       (torch.full((1, 1, 8, 12), float("nan")), "finite"),
                       ("not a map", "got str")):
        with pytest.raises(ValueError, match=match):
            st(content, style, StyleSettings(content_size=None), strength=bad)


def test_calls_are_checked_before_any_work(st):
    content, style = make_image(16, 24, 2), make_image(16, 16, 3)
    with pytest.raises(SettingsError, match="at least one style"):
        st(content, [], StyleSettings())
    with pytest.raises(SettingsError, match="3 style weights for 2 styles"):
        st(content, [style, style], StyleSettings(style_weights=(1, 1, 1)))
    with pytest.raises(SettingsError, match=r"one channel per style \(2\), got shape "
                                            r"\(1, 3, 16, 24\)"):
        st(content, [style, style], StyleSettings(), masks=torch.rand(1, 3, 16, 24))
    with pytest.raises(SettingsError, match=r"mask aspect ratio 10x20 does not match the "
                                            r"content 24x16"):
        st(content, [style, style], StyleSettings(content_size=None),
           masks=torch.rand(1, 2, 20, 10))
    # a mask of the content's aspect at another size is resized, not refused
    out = st(content, [style, style], StyleSettings(content_size=None),
             masks=torch.rand(1, 2, 32, 48))
    assert out.image.shape[-2:] == (16, 24)


def test_the_log_line_names_the_photo(st, tmp_path, caplog):
    import logging

    photo = save_image(make_image(16, 24, 2), tmp_path / "street.png")
    style = make_image(16, 16, 3)
    with caplog.at_level(logging.INFO, logger="depthstyle.pipeline"):
        st(photo, style, StyleSettings(content_size=None))
        st(make_image(16, 24, 2), style, StyleSettings(content_size=None))
        st(make_image(16, 24, 2), style, StyleSettings(content_size=None), name="frame 7")
    lines = [r.getMessage() for r in caplog.records if r.name == "depthstyle.pipeline"]
    assert lines[0].startswith("street.png: ") and lines[1].startswith("image: ")
    assert lines[2].startswith("frame 7: ")
    off = st(photo, style, StyleSettings(depth_aware=False, content_size=None))
    assert off.depth_origin.source == "off"
