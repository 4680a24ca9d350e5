from dataclasses import replace

import pytest
import torch

from conftest import make_image
from depthstyle.color import rgb_to_yiq
from depthstyle.errors import SettingsError
from depthstyle.ops import adain
from depthstyle.pipeline import StyleSettings, Stylizer
from depthstyle.texture import match_texture, texture_stats, weighted_quantiles

FULL = StyleSettings(content_size=None, style_size=None)


def test_alpha_zero_is_the_content_reconstruction(tiny_model):
    s = Stylizer(tiny_model, device="cpu", border=0)
    content, style = make_image(64, 96, 1), make_image(64, 64, 2)
    prox = torch.linspace(0, 1, 96).view(1, 1, 1, 96).expand(1, 1, 64, 96)
    settings = StyleSettings(alpha=0.0, content_size=None, levels=(1, 2, 3), detail=False)
    out = s(content, style, settings, depth=prox)
    with torch.no_grad():
        ref = tiny_model.decoder(tiny_model.encoder(content)[2]).clamp(0, 1)
    torch.testing.assert_close(out.image, ref)
    assert torch.count_nonzero(out.strength) == 0
    assert (out.image - content).abs().max() > 0.05  # the tiny decoder is far from the photo
    # with the detail residual (the default) strength 0 gives the photo back, on every path
    for st in (s, Stylizer(tiny_model, device="cpu"), Stylizer(tiny_model, device="cpu",
                                                                tile_size=32, tile_margin=8)):
        back = st(content, style, replace(settings, detail=True), depth=prox).image
        assert (back - content).abs().max() < 1e-5


def test_full_strength_equals_plain_adain(tiny_model):
    s = Stylizer(tiny_model, device="cpu", border=0)
    content, style = make_image(64, 64, 1), make_image(48, 48, 2)
    plain = StyleSettings(depth_aware=False, content_size=None, style_size=None)
    out = s(content, style, replace(plain, texture_match=0))
    with torch.no_grad():
        f = adain(tiny_model.encoder(content)[2], tiny_model.encoder(style)[2])
        ref = tiny_model.decoder(f).clamp(0, 1)
    torch.testing.assert_close(out.image, ref, atol=1e-5, rtol=1e-5)
    assert torch.allclose(out.strength, torch.ones_like(out.strength))
    # by default the painting's texture statistics follow the decoder (docs/method.md 5d)
    textured = s(content, style, plain).image
    torch.testing.assert_close(textured, match_texture(ref, texture_stats(style)), atol=1e-5,
                               rtol=1e-5)


def test_strength_map_controls_where_style_goes(pointwise_model):
    """Zero strength on the left half: those pixels equal the content reconstruction there."""
    s = Stylizer(pointwise_model, device="cpu", border=0)
    content, style = make_image(64, 128, 3), make_image(64, 64, 4)
    prox = torch.zeros(1, 1, 64, 128)
    prox[..., :64] = 1.0  # left half near
    # texture_match=0: the texture step measures its histograms where strength is high, so the
    # far half's match differs from the full-strength image's (checked at the end)
    settings = StyleSettings(offset=0.0, contrast=200.0, content_size=None, detail=False,
                             texture_match=0)
    out = s(content, style, settings, depth=prox)
    recon = s(content, style, StyleSettings(alpha=0.0, content_size=None, detail=False)).image
    full = s(content, style, StyleSettings(depth_aware=False, content_size=None,
                                           texture_match=0)).image
    assert out.strength[..., :64].max() < 1e-6 and out.strength[..., 64:].min() > 1 - 1e-6
    torch.testing.assert_close(out.image[..., :48], recon[..., :48], atol=1e-5, rtol=0)
    torch.testing.assert_close(out.image[..., 80:], full[..., 80:], atol=1e-5, rtol=0)
    assert (out.image[..., 80:] - recon[..., 80:]).abs().mean() > 1e-3
    # with the detail residual the near half is the photo itself, the far half unchanged
    kept = s(content, style, replace(settings, detail=True), depth=prox).image
    torch.testing.assert_close(kept[..., :48], content[..., :48], atol=1e-5, rtol=0)
    torch.testing.assert_close(kept[..., 80:], full[..., 80:], atol=1e-5, rtol=0)
    # the texture step leaves the unstylized half alone and changes the stylized one
    textured = s(content, style, replace(settings, texture_match=1), depth=prox).image
    torch.testing.assert_close(textured[..., :48], out.image[..., :48], atol=1e-6, rtol=0)
    assert (textured[..., 80:] - out.image[..., 80:]).abs().mean() > 1e-3


def test_masks_route_styles(pointwise_model):
    s = Stylizer(pointwise_model, device="cpu")
    content = make_image(64, 128, 5)
    a, b = make_image(64, 64, 6), make_image(64, 64, 7) * 0.3
    masks = torch.zeros(1, 2, 64, 128)
    masks[:, 0, :, :64] = 1
    masks[:, 1, :, 64:] = 1
    plain = StyleSettings(depth_aware=False, content_size=None, texture_match=0)
    out = s(content, [a, b], plain, masks=masks).image
    only_a = s(content, a, plain).image
    only_b = s(content, b, plain).image
    torch.testing.assert_close(out[..., :48], only_a[..., :48], atol=1e-5, rtol=0)
    torch.testing.assert_close(out[..., 80:], only_b[..., 80:], atol=1e-5, rtol=0)
    # with the texture step each region takes its own painting's luminance histogram
    textured = s(content, [a, b], replace(plain, texture_match=1), masks=masks).image
    y = rgb_to_yiq(textured)[:, :1]
    right = masks[:, 1:]
    q_right = weighted_quantiles(y, right)[0]
    tex_a, tex_b = texture_stats(a), texture_stats(b)
    assert (q_right - tex_b[-1]).abs().mean() < 0.3 * (q_right - tex_a[-1]).abs().mean()
    q_left = weighted_quantiles(y, masks[:, :1])[0]
    assert (q_left - tex_a[-1]).abs().mean() < 0.3 * (q_left - tex_b[-1]).abs().mean()
    # one region covering everything: the single style's output
    whole = torch.cat([torch.ones(1, 1, 64, 128), torch.zeros(1, 1, 64, 128)], 1)
    torch.testing.assert_close(s(content, [a, b], replace(plain, texture_match=1),
                                 masks=whole).image,
                               s(content, a, replace(plain, texture_match=1)).image,
                               atol=1e-5, rtol=0)


def test_style_interpolation_endpoints(tiny_model):
    s = Stylizer(tiny_model, device="cpu")
    content, a, b = make_image(64, 64, 1), make_image(64, 64, 2), make_image(64, 64, 3)
    mixed = s(content, [a, b], StyleSettings(style_weights=(1.0, 0.0), depth_aware=False,
                                             content_size=None)).image
    only_a = s(content, a, StyleSettings(depth_aware=False, content_size=None)).image
    torch.testing.assert_close(mixed, only_a)


def test_style_statistics_are_cached(tiny_model, image_files):
    s = Stylizer(tiny_model, device="cpu")
    content, style = image_files
    calls = []
    hook = tiny_model.encoder.stages[0].register_forward_hook(lambda *a: calls.append(1))
    s(content, style, FULL)
    first = len(calls)
    s(content, style, FULL)
    hook.remove()
    assert first == 2 and len(calls) == 3  # style encoded once, content twice


def test_preserve_color_luminance_keeps_content_chroma(tiny_model):
    s = Stylizer(tiny_model, device="cpu")
    content = make_image(64, 64, 8) * 0.2 + 0.4
    out = s(content, make_image(64, 64, 9), StyleSettings(preserve_color="luminance",
                                                          content_size=None))
    assert out.image.shape == content.shape
    iq_o, iq_c = rgb_to_yiq(out.image)[:, 1:], rgb_to_yiq(content)[:, 1:]
    inside = (out.image > 0.001).all(1, keepdim=True) & (out.image < 0.999).all(1, keepdim=True)
    assert (iq_o - iq_c).abs()[inside.expand_as(iq_o)].max() < 1e-3


def test_odd_sizes_are_padded_and_cropped_back(tiny_model):
    s = Stylizer(tiny_model, device="cpu")
    out = s(make_image(50, 77, 1), make_image(30, 30, 2), FULL)
    assert out.image.shape == (1, 3, 50, 77) and out.strength.shape == (1, 1, 50, 77)
    assert float(out.image.min()) >= 0 and float(out.image.max()) <= 1


def test_content_size_and_crop(tiny_model):
    s = Stylizer(tiny_model, device="cpu")
    out = s(make_image(100, 200, 1), make_image(30, 30, 2),
            StyleSettings(content_size=64, crop=True))
    assert out.image.shape == (1, 3, 32, 32)


@pytest.mark.parametrize("settings,match", [
    (StyleSettings(alpha=1.5), "alpha"),
    (StyleSettings(levels=(7,)), "unknown level"),
    (StyleSettings(levels=(4,)), "deeper than the level this model decodes"),
    (StyleSettings(preserve_color="sepia"), "preserve_color"),
    (StyleSettings(content_size=4), "content_size"),
    (StyleSettings(style_weights=(1.0,)), "style weights"),
])
def test_invalid_settings(tiny_model, settings, match):
    s = Stylizer(tiny_model, device="cpu")
    with pytest.raises(SettingsError, match=match):
        s(make_image(), [make_image(seed=1), make_image(seed=2)], settings)


def test_bad_tensors(tiny_model):
    s = Stylizer(tiny_model, device="cpu")
    bad = make_image()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        s(bad, make_image(seed=1), FULL)
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        s(torch.rand(1, 4, 8, 8), make_image(seed=1), FULL)


def test_device_selection_errors():
    from depthstyle.pipeline import select_device

    assert select_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(SettingsError, match="CUDA is not available"):
            select_device("cuda")


@pytest.mark.parametrize("levels", [(), (1, 2, 3)])
def test_tiled_matches_untiled(tiny_model, levels):
    """Tiles use whole-image statistics and a context margin: no seams."""
    content, style = make_image(136, 200, 3), make_image(64, 64, 4)
    prox = torch.linspace(0, 1, 200).view(1, 1, 1, 200).expand(1, 1, 136, 200)
    settings = StyleSettings(content_size=None, levels=levels)
    whole = Stylizer(tiny_model, tile_size=None)(content, style, settings, depth=prox).image
    tiled = Stylizer(tiny_model, tile_size=64, tile_margin=64)(content, style, settings,
                                                               depth=prox).image
    assert tiled.shape == whole.shape == (1, 3, 136, 200)
    assert float((tiled - whole).abs().max()) < 1e-4


def test_tile_size_is_checked(tiny_model):
    with pytest.raises(SettingsError, match="tile size"):
        Stylizer(tiny_model, tile_size=8)


def test_the_texture_step_is_stable_under_tiny_strength_changes():
    """Video smoothing and tiling change strength by float noise: the output must not jump."""
    st = Stylizer("depthstyle-lite0", device="cpu", depth=None)
    content = make_image(96, 128, 8)
    style = make_image(96, 96, 9)
    s = torch.linspace(0.2, 1, 128).expand(1, 1, 96, 128).contiguous()
    a = st(content, style, StyleSettings(content_size=None), strength=s).image
    b = st(content, style, StyleSettings(content_size=None), strength=s * (1 - 1e-4)).image
    d = ((a * 255).round() - (b * 255).round()).abs()
    assert float(d.max()) <= 1 and float((d > 0).float().mean()) < 0.02


def test_texture_match_setting_is_checked():
    with pytest.raises(SettingsError, match="texture_match must be in"):
        StyleSettings(texture_match=1.5).validate()
    with pytest.raises(SettingsError, match="texture_match must be in"):
        StyleSettings(texture_match=float("nan")).validate()
