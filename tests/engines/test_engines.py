"""The restyle step, the detail residual, the engines and the v2 skip decoder."""

from dataclasses import replace

import pytest
import torch

from conftest import make_image
from depthstyle.engines import Engine, RenderJob, TorchEngine
from depthstyle.errors import SettingsError
from depthstyle.models import StyleModel, build_decoder, load_model
from depthstyle.ops import (
    BLEND_POWER,
    adain,
    adain_from_stats,
    calc_mean_std,
    detail_residual,
    photo_blend,
    restyle,
    restyle_encode,
    strength_at_level,
)
from depthstyle.pipeline import StyleSettings, Stylizer


@pytest.fixture(scope="module")
def bundled():
    return Stylizer("depthstyle-lite0", device="cpu")


# --- ops --------------------------------------------------------------------------------------

def test_restyle_blends_content_and_adain():
    g = torch.Generator().manual_seed(0)
    f = torch.rand(2, 6, 5, 7, generator=g) * 3
    mean, std = torch.rand(1, 6, 1, 1, generator=g), torch.rand(1, 6, 1, 1, generator=g) + 0.5
    target = adain_from_stats(f, mean, std)
    torch.testing.assert_close(restyle(f, mean, std, 0.0), f)
    torch.testing.assert_close(restyle(f, mean, std, 1.0), target)
    s = torch.rand(2, 1, 5, 7, generator=g)
    torch.testing.assert_close(restyle(f, mean, std, s), f + s * (target - f))
    # two channel groups with their own maps: the first 3 channels follow map 0
    sg = torch.stack([torch.zeros(2, 5, 7), torch.ones(2, 5, 7)], 1)
    out = restyle(f, mean, std, sg)
    torch.testing.assert_close(out[:, :3], f[:, :3])
    torch.testing.assert_close(out[:, 3:], target[:, 3:])
    with pytest.raises(ValueError, match="feature grid"):
        restyle(f, mean, std, torch.rand(2, 1, 10, 14))
    with pytest.raises(ValueError, match="do not divide"):
        restyle(f, mean, std, torch.rand(2, 4, 5, 7))


def test_strength_at_level_is_the_cell_average():
    s = torch.arange(16.0).view(1, 1, 4, 4)
    got = strength_at_level(s, 2)
    assert got.shape == (1, 1, 2, 2)
    assert got[0, 0, 0, 0] == (0 + 1 + 4 + 5) / 4 and got[0, 0, 1, 1] == (10 + 11 + 14 + 15) / 4
    assert strength_at_level(0.3, 8) == 0.3


def test_restyle_encode_is_the_level_by_level_step(lite0):
    x = make_image(48, 64, 1)
    style_feats = lite0(make_image(40, 40, 2), upto=2)
    stats = [calc_mean_std(f) for f in style_feats]
    s = torch.linspace(0, 1, 64).view(1, 1, 1, 64).expand(1, 1, 48, 64)
    got = restyle_encode(lite0.stages[:3], x, lite0.strides, stats, s, [0, 2])
    # by hand: restyle level 0, run stage 1 untouched, restyle level 2
    f0 = lite0.stages[0](x)
    a0 = torch.nn.functional.avg_pool2d(s, 2)
    f0 = f0 + a0 * (adain(f0, style_feats[0]) - f0)
    f1 = lite0.stages[1](f0)
    f2 = lite0.stages[2](f1)
    a2 = torch.nn.functional.avg_pool2d(s, 8)
    f2 = f2 + a2 * (adain(f2, style_feats[2]) - f2)
    for a, b in zip(got, (f0, f1, f2), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    # strength 0 everywhere: the plain encoder
    plain = restyle_encode(lite0.stages[:3], x, lite0.strides, stats, 0.0, [0, 1, 2])
    for a, b in zip(plain, lite0(x, upto=2), strict=True):
        torch.testing.assert_close(a, b)


def test_detail_residual_equation():
    g = torch.Generator().manual_seed(1)
    y, x, r = (torch.rand(1, 3, 4, 5, generator=g) for _ in range(3))
    torch.testing.assert_close(detail_residual(y, x, r, 0.0), x + (y - r))
    torch.testing.assert_close(detail_residual(y, x, y, 0.0), x)  # S = 0: the photo itself
    torch.testing.assert_close(detail_residual(y, x, r, 1.0), y)
    s = torch.full((1, 1, 4, 5), 0.25)
    torch.testing.assert_close(detail_residual(y, x, r, s), y + 0.75 * (x - r))


def test_photo_blend_equation():
    g = torch.Generator().manual_seed(2)
    y, x = (torch.rand(1, 3, 4, 5, generator=g) for _ in range(2))
    assert torch.equal(photo_blend(y, x, 0.0), x)  # S = 0: exactly the photo
    assert torch.equal(photo_blend(y, x, 1.0), y)  # S = 1: exactly the stylization
    s = torch.full((1, 1, 4, 5), 0.5)
    torch.testing.assert_close(photo_blend(y, x, s), y + 0.125 * (x - y))  # (1 - 0.5) ** 3
    torch.testing.assert_close(photo_blend(y, x, 0.5, power=1.0), (x + y) / 2)
    s = torch.tensor([0.0, 0.25, 0.9, 1.0]).view(1, 1, 1, 4).expand(1, 1, 4, 4)
    w = (1 - s) ** BLEND_POWER
    torch.testing.assert_close(photo_blend(y[..., :4], x[..., :4], s),
                               y[..., :4] + w * (x[..., :4] - y[..., :4]))
    with pytest.raises(ValueError, match="power"):
        photo_blend(y, x, 0.5, power=0.0)


@pytest.mark.parametrize(("mode", "passes"), [("blend", 1), ("residual", 2), ("off", 1)])
def test_detail_modes_decode_once_or_twice_and_give_the_photo_back(tiny_model, mode, passes):
    st = Stylizer(tiny_model, device="cpu")
    st.engine.recon_cache_size = 0  # a new photo every call
    calls = []
    decode = st.engine.model.decode
    st.engine.model.decode = lambda feats, s: calls.append(1) or decode(feats, s)
    content, style = make_image(40, 56, 1), make_image(32, 32, 2)
    half = st(content, style, StyleSettings(alpha=0.5, depth_aware=False, content_size=None,
                                            detail=mode, texture_match=0)).image
    assert len(calls) == passes
    zero = st(content, style, StyleSettings(alpha=0.0, depth_aware=False, content_size=None,
                                            detail=mode, texture_match=0)).image
    if mode == "off":
        assert float((zero - content).abs().mean()) > 0.01  # the decoder alone
    else:
        assert float((zero - content).abs().max()) < 1e-6
    off = st(content, style, StyleSettings(alpha=0.5, depth_aware=False, content_size=None,
                                           detail="off", texture_match=0)).image
    # (texture_match=0: the engine's detail step alone; the texture step comes after it)
    if mode == "blend":  # an eighth of the way from the decoder's output to the photo
        want = (off + 0.125 * (content - off)).clamp(0, 1)
        inside = (off > 0) & (off < 1)  # clamping before or after the blend differs outside
        torch.testing.assert_close(half[inside], want[inside])


def test_detail_setting_accepts_bools_and_refuses_unknown_modes():
    assert StyleSettings().detail == "blend"
    assert StyleSettings(detail=True).detail == "blend"
    assert StyleSettings(detail=False).detail == "off"
    with pytest.raises(SettingsError, match="detail must be one of blend, residual, off"):
        StyleSettings(detail="exact").validate()
    with pytest.raises(SettingsError, match="detail must be one of"):
        RenderJob(content=make_image(8, 8, 1), strength=torch.ones(1, 1, 8, 8), levels=[2],
                  styles=[], detail="exact")


# --- engines ------------------------------------------------------------------------------------

def test_torch_engine_follows_the_protocol(tiny_model):
    engine = TorchEngine(tiny_model, torch.device("cpu"))
    assert isinstance(engine, Engine)
    assert engine.supports_masks and not engine.has_learned_strength
    job = RenderJob(content=make_image(30, 50, 1), strength=torch.ones(1, 1, 30, 50),
                    levels=[2], styles=[engine.style_stats(make_image(40, 40, 2))])
    out = engine.render(job)
    assert out.shape == (1, 3, 30, 50) and out.device.type == "cpu"
    assert 0 <= float(out.min()) and float(out.max()) <= 1
    with pytest.raises(SettingsError, match="border"):
        TorchEngine(tiny_model, torch.device("cpu"), border=-1)


@pytest.mark.parametrize("size", [(1, 1), (3, 200), (200, 5), (9, 9)])
def test_tiny_and_elongated_images(tiny_model, size):
    """Images smaller than the border or the downsampling are padded, never crash."""
    s = Stylizer(tiny_model, device="cpu")
    out = s(make_image(*size, seed=2) if min(size) > 1 else torch.rand(1, 3, *size),
            make_image(32, 32, 3), StyleSettings(content_size=None, alpha=0.0))
    assert out.image.shape == (1, 3, *size)


def test_levels_setting_changes_the_output(bundled):
    """--levels must reach the engine: restyling shallow levels too changes the image."""
    content, style = make_image(96, 128, 1), make_image(96, 96, 2)
    deep = bundled(content, style, StyleSettings(content_size=None, levels=(3,)))
    every = bundled(content, style, StyleSettings(content_size=None, levels=(1, 2, 3)))
    assert float((deep.image - every.image).abs().mean()) > 0.01


def test_style_cache_returns_the_right_style(bundled):
    content = make_image(64, 96, 5)
    a, b = make_image(64, 64, 6), make_image(64, 64, 7) * 0.4
    settings = StyleSettings(content_size=None, depth_aware=False)
    hits = bundled.cache_info()["hits"]
    out_a = bundled(content, a, settings).image
    out_b = bundled(content, b, settings).image
    again = bundled(content, a, settings).image
    assert bundled.cache_info()["hits"] == hits + 1  # the third call was served from the cache
    torch.testing.assert_close(again, out_a)
    assert float((out_a - out_b).abs().mean()) > 0.02


def test_tiles_use_whole_image_statistics_on_the_bundled_model(bundled):
    content, style = make_image(160, 224, 3), make_image(80, 80, 4)
    settings = StyleSettings(content_size=None, levels=(1, 2, 3))
    whole = bundled(content, style, settings).image
    tiled = Stylizer("depthstyle-lite0", device="cpu", tile_size=96, tile_margin=64)(
        content, style, settings).image
    assert float((tiled - whole).abs().max()) < 1e-4  # measured 2e-5; per-tile stats: ~0.1


def test_strength_zero_gives_the_photo_back_on_the_bundled_model(bundled):
    content, style = make_image(90, 130, 8), make_image(64, 64, 9)
    for settings in (StyleSettings(alpha=0.0, content_size=None),
                     StyleSettings(alpha=0.0, content_size=None, depth_aware=False)):
        out = bundled(content, style, settings).image
        assert float((out - content).abs().max()) < 1e-5
    # without the residual the decoder alone is far from the photo
    alone = bundled(content, style, StyleSettings(alpha=0.0, content_size=None, detail=False))
    assert float((alone.image - content).abs().mean()) > 0.01
    # half strength keeps half of the photo's lost detail
    half = bundled(content, style, StyleSettings(alpha=0.5, depth_aware=False, content_size=None))
    plain = bundled(content, style, replace(StyleSettings(alpha=0.5, depth_aware=False,
                                                          content_size=None), detail=False))
    gap_half = float((half.image - content).abs().mean())
    gap_plain = float((plain.image - content).abs().mean())
    assert gap_half < gap_plain


# --- the v2 skip decoder --------------------------------------------------------------------

def test_skip_decoder_reads_every_tap_gated_by_strength(lite0):
    torch.manual_seed(0)
    dec = build_decoder(lite0, (16, 8, 8, 8), 2, kind="skip", skip_width=4)
    feats = lite0(make_image(32, 48, 1), upto=2)
    assert dec(feats, 0.0).shape == (1, 3, 32, 48)
    assert dec.input_levels == (0, 1, 2)
    model = StyleModel(lite0, dec, "skip", decode_level=2)
    assert model.default_levels == (2,)
    with pytest.raises(ValueError, match="3 taps"):
        dec(feats[-1:], 0.0)
    changed = [feats[0] * 2, feats[1] * 2, feats[2]]
    with torch.no_grad():
        # open skips (strength 0): the shallow taps change the output
        assert float((dec(changed, 0.0) - dec(feats, 0.0)).abs().max()) > 1e-4
        # closed skips (strength 1): only the deep tap matters
        torch.testing.assert_close(dec(changed, 1.0), dec(feats, 1.0))
        # a map: closed on the right half, open on the left
        s = torch.zeros(1, 1, 32, 48)
        s[..., 24:] = 1.0
        diff = (dec(changed, s) - dec(feats, s)).abs().mean(1)[0]
        assert float(diff[:, :12].mean()) > 10 * float(diff[:, 40:].mean())


def test_warm_start_from_v1_reproduces_v1(lite0, earlier_releases):
    from depthstyle.training.trainer import _warm_start

    v1 = load_model("depthstyle-lite0-v1")
    dec = build_decoder(lite0, (128, 64, 32, 16), 2, kind="skip", skip_width=32)
    _warm_start(dec, "depthstyle-lite0-v1")
    feats = lite0(make_image(48, 64, 2), upto=2)
    with torch.no_grad():
        for s in (0.0, 1.0):  # the skip weights start at zero: v1 at any strength
            torch.testing.assert_close(dec(feats, s), v1.decoder(feats), atol=1e-5, rtol=1e-5)


def test_skip_model_saves_and_loads(tmp_path, lite0):
    from depthstyle.models import save_decoder

    torch.manual_seed(0)
    dec = build_decoder(lite0, (8, 8, 8, 8), 2, kind="skip", skip_width=4)
    path = save_decoder(dec, tmp_path / "s.safetensors", encoder=lite0, widths=(8, 8, 8, 8),
                        decode_level=2, kind="skip", skip_width=4)
    model = load_model(path)
    feats = lite0(make_image(32, 32, 1), upto=2)
    with torch.no_grad():
        assert torch.equal(model.decode(feats, 0.3), dec(feats, 0.3))
    assert model.default_levels == (2,)


def test_reconstruction_cache_is_keyed_by_content(tiny_model):
    cached = Stylizer(tiny_model, device="cpu")
    fresh = Stylizer(tiny_model, device="cpu")
    fresh.engine.recon_cache_size = 0
    settings = StyleSettings(content_size=None, alpha=0.5, depth_aware=False, detail="residual")
    a, b = make_image(40, 56, 1), make_image(40, 56, 2)
    for content in (a, b, a):
        for style in (make_image(32, 32, 3), make_image(32, 32, 4)):
            torch.testing.assert_close(cached(content, style, settings).image,
                                       fresh(content, style, settings).image)
    assert len(cached.engine._recon) == 2 and len(fresh.engine._recon) == 0


def test_trunk_of_a_skip_decoder_is_the_decoder_with_closed_skips(lite0):
    """tools/finalize_decoder.py --trunk ships this: it equals the skip decoder at strength 1."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "tools" / "finalize_decoder.py"
    spec = importlib.util.spec_from_file_location("finalize_decoder", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    torch.manual_seed(3)
    skip = build_decoder(lite0, (16, 8, 8, 8), 2, kind="skip", skip_width=4)
    with torch.no_grad():
        for p in skip.parameters():
            p.add_(torch.randn_like(p) * 0.1)  # non-zero skip weights
    trunk = tool.trunk_of(skip, lite0, (16, 8, 8, 8), 2)
    feats = lite0(make_image(32, 48, 1), upto=2)
    with torch.no_grad():
        torch.testing.assert_close(trunk(feats), skip(feats, 1.0), atol=1e-5, rtol=1e-5)
        assert float((trunk(feats) - skip(feats, 0.0)).abs().max()) > 1e-3


def test_restyle_encode_takes_one_map_per_level(lite0):
    """Learned strength gives each level its own map (list): level i uses maps[i]."""
    x = make_image(32, 32, 3)
    stats = [calc_mean_std(f) for f in lite0(make_image(32, 32, 4), upto=1)]
    zeros, ones = torch.zeros(1, 1, 32, 32), torch.ones(1, 1, 32, 32)
    got = restyle_encode(lite0.stages[:2], x, lite0.strides, stats, [zeros, ones], [0, 1])
    plain = lite0(x, upto=1)
    torch.testing.assert_close(got[0], plain[0])  # level 0 at strength 0: untouched
    torch.testing.assert_close(got[1], adain(plain[1], lite0(make_image(32, 32, 4), upto=1)[1]),
                               atol=1e-5, rtol=1e-5)  # level 1 at strength 1: AdaIN
