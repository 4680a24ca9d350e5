import pytest
import torch
import torch.nn.functional as F

from depthstyle.color import luminance_transfer, match_color_histogram, rgb_to_yiq, yiq_to_rgb
from depthstyle.ops import (
    AdaIN,
    adain,
    blend,
    calc_mean_std,
    masked_adain,
    mix_style_stats,
)


def test_calc_mean_std_hand_values():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0]).view(1, 1, 2, 2)
    m, s = calc_mean_std(x, eps=0.0)
    assert m.item() == pytest.approx(2.5)
    assert s.item() == pytest.approx(1.118034, abs=1e-6)  # population std
    assert m.shape == (1, 1, 1, 1)


def test_adain_output_has_style_statistics():
    torch.manual_seed(0)
    c = torch.randn(2, 16, 12, 10) * 3 + 1
    s = torch.randn(2, 16, 7, 9) * 0.5 - 2
    out = adain(c, s)
    om, os_ = calc_mean_std(out)
    sm, ss = calc_mean_std(s)
    assert out.shape == c.shape
    torch.testing.assert_close(om, sm, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(os_, ss, atol=1e-3, rtol=1e-3)


def test_adain_errors_are_specific():
    with pytest.raises(ValueError, match="channels"):
        adain(torch.rand(1, 3, 4, 4), torch.rand(1, 4, 4, 4))
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        adain(torch.rand(3, 4, 4), torch.rand(1, 3, 4, 4))


def test_adain_module_twin_matches_function():
    c, s = torch.rand(1, 5, 6, 6), torch.rand(1, 5, 3, 3)
    torch.testing.assert_close(AdaIN()(c, s), adain(c, s))


def test_adain_gradcheck():
    c = torch.rand(1, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    s = torch.rand(1, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(adain, (c, s))


def test_blend_endpoints_and_map():
    c, t = torch.zeros(1, 2, 4, 4), torch.ones(1, 2, 4, 4)
    assert torch.equal(blend(c, t, 0.0), c)
    assert torch.equal(blend(c, t, 1.0), t)
    m = torch.zeros(1, 1, 8, 8)
    m[..., 4:] = 1.0  # right half (larger map, area-resized)
    out = blend(c, t, m)
    assert torch.equal(out[..., :2], torch.zeros(1, 2, 4, 2))
    assert torch.equal(out[..., 2:], torch.ones(1, 2, 4, 2))


def test_mix_style_stats_weights():
    a = (torch.zeros(1, 3, 1, 1), torch.ones(1, 3, 1, 1))
    b = (torch.ones(1, 3, 1, 1) * 4, torch.ones(1, 3, 1, 1) * 3)
    m, s = mix_style_stats([a, b], [3, 1])
    assert torch.allclose(m, torch.full_like(m, 1.0))
    assert torch.allclose(s, torch.full_like(s, 1.5))
    with pytest.raises(ValueError, match="non-negative"):
        mix_style_stats([a, b], [1, -1])
    with pytest.raises(ValueError, match="one weight per style"):
        mix_style_stats([a, b], [1])


def test_masked_adain_routes_styles_to_regions():
    torch.manual_seed(0)
    c = torch.randn(1, 4, 8, 8)
    sa, sb = torch.randn(1, 4, 5, 5) + 5, torch.randn(1, 4, 5, 5) - 5
    stats = [calc_mean_std(sa), calc_mean_std(sb)]
    masks = torch.zeros(1, 2, 8, 8)
    masks[:, 0, :, :4] = 1
    masks[:, 1, :, 4:] = 1
    out = masked_adain(c, stats, masks)
    torch.testing.assert_close(out[..., :4], adain(c, sa)[..., :4])
    torch.testing.assert_close(out[..., 4:], adain(c, sb)[..., 4:])


def test_yiq_roundtrip():
    x = torch.rand(2, 3, 5, 5)
    torch.testing.assert_close(yiq_to_rgb(rgb_to_yiq(x)), x, atol=1e-5, rtol=1e-5)


def test_luminance_transfer_keeps_content_chroma():
    torch.manual_seed(1)
    content = torch.rand(1, 3, 16, 16) * 0.2 + 0.4  # stays inside the RGB gamut
    stylized = torch.rand(1, 3, 16, 16) * 0.2 + 0.4
    out = luminance_transfer(stylized, content)
    assert 0 < float(out.min()) and float(out.max()) < 1  # no clamping happened
    iq_out, iq_c = rgb_to_yiq(out)[:, 1:], rgb_to_yiq(content)[:, 1:]
    torch.testing.assert_close(iq_out, iq_c, atol=2e-3, rtol=0)


def test_match_color_histogram_matches_mean_and_covariance():
    torch.manual_seed(2)
    src = torch.rand(1, 3, 32, 32) * 0.3 + 0.1
    tgt = torch.rand(1, 3, 32, 32) * 0.2 + 0.5
    tgt[:, 0] = tgt[:, 1] * 0.5 + 0.3  # correlated channels
    out = match_color_histogram(src, tgt)
    mo, mt = out.flatten(2).mean(2), tgt.flatten(2).mean(2)
    torch.testing.assert_close(mo, mt, atol=2e-3, rtol=0)
    co = torch.cov(out.flatten(2)[0])
    ct = torch.cov(tgt.flatten(2)[0])
    torch.testing.assert_close(co, ct, atol=2e-3, rtol=0)


# --- guards found by mutation testing (docs/testing.md) ----------------------------------------

def test_error_messages_name_the_argument_and_the_shapes():
    from depthstyle.ops import calc_mean_std

    with pytest.raises(ValueError, match=r"content must have shape \(B, C, H, W\), got \(3, 4\)"):
        adain(torch.rand(3, 4), torch.rand(1, 3, 4, 4))
    with pytest.raises(ValueError, match=r"style must have shape .* got \(3, 4, 4\)"):
        adain(torch.rand(1, 3, 4, 4), torch.rand(3, 4, 4))
    with pytest.raises(ValueError, match="content has 3 channels but style has 5"):
        adain(torch.rand(1, 3, 6, 4), torch.rand(1, 5, 4, 6))
    with pytest.raises(ValueError, match=r"feat must have shape .* got \(2, 2\)"):
        calc_mean_std(torch.rand(2, 2))
    with pytest.raises(ValueError, match=r"shapes differ: \(1, 2, 4, 4\) vs \(1, 2, 4, 5\)"):
        blend(torch.rand(1, 2, 4, 4), torch.rand(1, 2, 4, 5), 0.5)
    with pytest.raises(ValueError, match="content must have shape"):
        masked_adain(torch.rand(2, 4, 4), [(torch.zeros(1, 2, 1, 1), torch.ones(1, 2, 1, 1))],
                     torch.ones(1, 1, 4, 4))


def test_eps_reaches_every_statistic():
    """A large eps changes the result exactly as the formula says, for the function and the
    module twin (a dropped eps falls back to the default 1e-5)."""
    g = torch.Generator().manual_seed(3)
    c, s = torch.rand(1, 2, 5, 5, generator=g), torch.rand(1, 2, 5, 5, generator=g)
    eps = 0.5
    cm, cs = c.mean((2, 3), keepdim=True), torch.sqrt(c.var((2, 3), unbiased=False,
                                                             keepdim=True) + eps)
    sm, ss = s.mean((2, 3), keepdim=True), torch.sqrt(s.var((2, 3), unbiased=False,
                                                             keepdim=True) + eps)
    want = (c - cm) / cs * ss + sm
    torch.testing.assert_close(adain(c, s, eps), want)
    torch.testing.assert_close(AdaIN(eps)(c, s), want)
    assert float((adain(c, s) - want).abs().max()) > 1e-3


def test_resize_map_paths():
    from depthstyle.ops import resize_map

    m = torch.arange(32.0).view(1, 1, 4, 8)
    assert resize_map(m, (4, 8)) is m  # same size: untouched
    # shrinking both sides: area average
    torch.testing.assert_close(resize_map(m, (2, 4)), F.avg_pool2d(m, 2))
    # one side grows: bilinear, not area
    torch.testing.assert_close(resize_map(m, (8, 4)),
                               F.interpolate(m, size=(8, 4), mode="bilinear",
                                             align_corners=False))
    torch.testing.assert_close(resize_map(m, (2, 16)),
                               F.interpolate(m, size=(2, 16), mode="bilinear",
                                             align_corners=False))


def test_blend_with_a_scalar_is_the_lerp():
    g = torch.Generator().manual_seed(5)
    c, s = torch.rand(1, 2, 3, 3, generator=g), torch.rand(1, 2, 3, 3, generator=g)
    torch.testing.assert_close(blend(c, s, 0.25), c + 0.25 * (s - c))


def test_style_mixing_and_region_checks():
    from depthstyle.ops import masked_style_stats

    a = (torch.zeros(1, 2, 1, 1), torch.ones(1, 2, 1, 1))
    b = (torch.full((1, 2, 1, 1), 4.0), torch.full((1, 2, 1, 1), 3.0))
    for bad in ([float("nan"), 1.0], [float("inf"), 1.0], [0.0, 0.0], [-1.0, 2.0]):
        with pytest.raises(ValueError, match="non-negative with a positive sum"):
            mix_style_stats([a, b], bad)
    # pixels covered by no mask share all styles equally
    masks = torch.zeros(1, 2, 4, 4)
    masks[:, 0, :, :2] = 1.0  # left half: style a; right half: no mask
    mean, std = masked_style_stats([a, b], masks, (4, 4))
    assert torch.allclose(mean[0, :, :, :2], torch.tensor(0.0))
    assert torch.allclose(mean[0, :, :, 2:], torch.tensor(2.0))  # (0 + 4) / 2
    assert torch.allclose(std[0, :, :, 2:], torch.tensor(2.0))  # (1 + 3) / 2
    with pytest.raises(ValueError, match=r"masks must be \(B, 2, H, W\), got \(2, 4, 4\)"):
        masked_style_stats([a, b], torch.ones(2, 4, 4), (4, 4))


def test_area_and_masks_beyond_the_easy_cases():
    from depthstyle.ops import adain_from_stats, masked_style_stats, resize_map

    m = torch.arange(32.0).view(1, 1, 4, 8)
    # a factor of 4 (bilinear would sample between two pixels, not average four)
    torch.testing.assert_close(resize_map(m, (1, 2)), F.avg_pool2d(m, 4))
    torch.testing.assert_close(resize_map(m, (1, 8)), F.avg_pool2d(m, (4, 1)))
    a = (torch.zeros(1, 2, 1, 1), torch.ones(1, 2, 1, 1))
    b = (torch.full((1, 2, 1, 1), 4.0), torch.full((1, 2, 1, 1), 3.0))
    with pytest.raises(ValueError, match=r"masks must be \(B, 2, H, W\), got \(1, 3, 4, 4\)"):
        masked_style_stats([a, b], torch.ones(1, 3, 4, 4), (4, 4))
    # overlapping masks are normalised to sum to 1
    mean, _ = masked_style_stats([a, b], torch.ones(1, 2, 4, 4) * 2.0, (4, 4))
    assert torch.allclose(mean, torch.tensor(2.0))
    # whole-image content statistics are used when given (tiling)
    g = torch.Generator().manual_seed(7)
    c = torch.rand(1, 2, 4, 4, generator=g)
    cs = (torch.full((1, 2, 1, 1), 0.2), torch.full((1, 2, 1, 1), 0.5))
    got = masked_adain(c, [a, b], torch.ones(1, 2, 4, 4), content_stats=cs)
    torch.testing.assert_close(got, adain_from_stats(c, torch.full((1, 2, 1, 1), 2.0),
                                                     torch.full((1, 2, 1, 1), 2.0),
                                                     content_stats=cs))


def test_resize_map_chooses_area_exactly_when_no_side_grows():
    from depthstyle.ops import resize_map

    g = torch.Generator().manual_seed(11)
    m = torch.rand(1, 1, 8, 8, generator=g)
    for size in ((2, 2), (8, 2), (2, 8), (4, 6)):  # shrink (or keep) both sides: area
        torch.testing.assert_close(resize_map(m, size), F.adaptive_avg_pool2d(m, size))
    for size in ((16, 2), (2, 16)):  # one side grows: bilinear
        torch.testing.assert_close(resize_map(m, size), F.interpolate(
            m, size=size, mode="bilinear", align_corners=False))
    wide = torch.rand(1, 1, 8, 12, generator=g)  # not square: each side checked on its own
    torch.testing.assert_close(resize_map(wide, (4, 10)), F.adaptive_avg_pool2d(wide, (4, 10)))


def test_masked_style_stats_normalise_each_images_masks_on_their_own():
    """Masks of two images (B = K = 2): each image's masks are normalised by its own total."""
    from depthstyle.ops import masked_style_stats

    stats = [(torch.full((1, 1, 1, 1), 0.0), torch.full((1, 1, 1, 1), 1.0)),
             (torch.full((1, 1, 1, 1), 10.0), torch.full((1, 1, 1, 1), 3.0))]
    masks = torch.zeros(2, 2, 1, 2)
    masks[0, 0] = torch.tensor([1.0, 3.0])  # image 0: style 0 only, unnormalised
    masks[1, 0] = torch.tensor([1.0, 1.0])  # image 1: half and half
    masks[1, 1] = torch.tensor([1.0, 1.0])
    mean, std = masked_style_stats(stats, masks, (1, 2))
    torch.testing.assert_close(mean[:, 0, 0], torch.tensor([[0.0, 0.0], [5.0, 5.0]]))
    torch.testing.assert_close(std[:, 0, 0], torch.tensor([[1.0, 1.0], [2.0, 2.0]]))


def test_soft_masks_are_normalised_and_a_coverage_of_1e6_counts_as_none():
    from depthstyle.ops import masked_style_stats

    stats = [(torch.full((1, 1, 1, 1), 0.0), torch.full((1, 1, 1, 1), 1.0)),
             (torch.full((1, 1, 1, 1), 10.0), torch.full((1, 1, 1, 1), 3.0))]
    masks = torch.zeros(1, 2, 1, 3)
    masks[0, :, 0, 0] = torch.tensor([0.1, 0.4])  # soft, summing to 0.5: weights 0.2 / 0.8
    masks[0, :, 0, 1] = torch.tensor([1e-6, 0.0])  # at the threshold: uncovered, shared
    masks[0, :, 0, 2] = torch.tensor([2e-6, 0.0])  # above it: style 0 alone
    mean, _ = masked_style_stats(stats, masks, (1, 3))
    torch.testing.assert_close(mean[0, 0, 0], torch.tensor([8.0, 5.0, 0.0]))
