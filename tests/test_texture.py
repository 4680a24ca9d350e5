"""The texture statistics match (depthstyle.texture): pyramid, quantiles, maps, the match."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as hst

from depthstyle.color import rgb_to_yiq
from depthstyle.texture import (
    TEXTURE_LEVELS,
    TEXTURE_ORIENTATIONS,
    TEXTURE_QUANTILES,
    _exact_quantile_map,
    collapse_pyramid,
    laplacian_pyramid,
    match_texture,
    mix_texture_stats,
    orientation_merge,
    orientation_split,
    quantile_map,
    texture_stats,
    weighted_quantiles,
)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _smooth(h: int, w: int, seed: int) -> torch.Tensor:
    """A smooth RGB image: bilinear upsampling of a 4x4 random grid."""
    g = torch.rand(1, 3, 4, 4, generator=_gen(seed))
    return torch.nn.functional.interpolate(g, size=(h, w), mode="bilinear", align_corners=True)


def _rough(h: int, w: int, seed: int) -> torch.Tensor:
    """Fine-grained texture: strong pixel noise around mid-grey."""
    return (0.5 + 0.35 * torch.randn(1, 3, h, w, generator=_gen(seed))).clamp(0, 1)


def _band0_std(img: torch.Tensor) -> float:
    bands, _ = laplacian_pyramid(rgb_to_yiq(img)[:, :1], 1)
    return float(bands[0].std())


# -- pyramid ------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [(64, 64), (97, 130), (5, 9)])
def test_pyramid_collapses_to_its_input(size):
    y = torch.rand(2, 1, *size, generator=_gen(0))
    bands, low = laplacian_pyramid(y, 5)
    torch.testing.assert_close(collapse_pyramid(bands, low), y, atol=1e-5, rtol=0)


def test_pyramid_levels_halve_and_stop_on_tiny_images():
    bands, low = laplacian_pyramid(torch.rand(1, 1, 64, 48), 3)
    assert [tuple(b.shape[-2:]) for b in bands] == [(64, 48), (32, 24), (16, 12)]
    assert tuple(low.shape[-2:]) == (8, 6)
    bands, _ = laplacian_pyramid(torch.rand(1, 1, 8, 8), 5)
    assert len(bands) == 2  # 8 -> 4 -> 2: a side below 4 is not split again
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        laplacian_pyramid(torch.rand(1, 3, 8, 8), 2)


def test_a_constant_image_has_empty_bands():
    bands, low = laplacian_pyramid(torch.full((1, 1, 32, 32), 0.3), 3)
    assert all(float(b.abs().max()) < 1e-6 for b in bands)
    torch.testing.assert_close(low, torch.full_like(low, 0.3))


# -- oriented sub-bands ---------------------------------------------------------------------------

def _stripes(h: int, w: int, angle: float, period: float = 4.0) -> torch.Tensor:
    """(1, 1, h, w) stripes whose gradient points along ``angle`` (radians from the x axis)."""
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32),
                            torch.arange(w, dtype=torch.float32), indexing="ij")
    phase = (xx * torch.cos(torch.tensor(angle)) + yy * torch.sin(torch.tensor(angle)))
    return torch.sin(2 * torch.pi * phase / period)[None, None]


@pytest.mark.parametrize("size", [(64, 64), (63, 77), (6, 5)])
@pytest.mark.parametrize("k", [1, 2, 4])
def test_oriented_sub_bands_sum_to_the_band(size, k):
    band = torch.randn(2, 1, *size, generator=_gen(0))
    sub = orientation_split(band, k)
    assert sub.shape == (2, k, *size)
    torch.testing.assert_close(orientation_merge(sub), band, atol=1e-5, rtol=0)


@pytest.mark.parametrize(("angle", "expected"), [(0.0, 0), (torch.pi / 4, 1),
                                                 (torch.pi / 2, 2), (3 * torch.pi / 4, 3)])
def test_stripes_land_in_the_sub_band_of_their_direction(angle, expected):
    energy = orientation_split(_stripes(64, 64, angle, period=4), 4).pow(2).mean((0, 2, 3))
    assert int(energy.argmax()) == expected
    assert float(energy[expected]) > 0.9 * float(energy.sum())


def test_a_diagonal_hatch_loses_ground_when_the_painting_has_only_upright_strokes():
    """The decoder's fault this step is for: one diagonal hatch whatever the style. Histogram
    matching reshapes amplitudes and cannot remove a pure pattern (whatever leaks into the
    upright sub-bands is amplified to the painting's contrast), so the shift is modest, but only
    the oriented match makes it at all."""
    hatch = 0.5 + 0.2 * _stripes(128, 128, torch.pi / 4, period=10)
    grid = 0.5 + 0.1 * (_stripes(128, 128, 0.0, 11) + _stripes(128, 128, torch.pi / 2, 12))
    img, painting = hatch.expand(1, 3, -1, -1), grid.expand(1, 3, -1, -1)

    def diagonal_share(x: torch.Tensor) -> float:
        """The diagonal sub-bands' share of the energy in the (oriented) bands 1 to 3."""
        bands, _ = laplacian_pyramid(rgb_to_yiq(x)[:, :1], 4)
        e = sum(orientation_split(b, 4).pow(2).mean((0, 2, 3)) for b in bands[1:])
        return float((e[1] + e[3]) / e.sum())

    oriented = match_texture(img, texture_stats(painting))
    upright = match_texture(img, texture_stats(painting, orientations=1), orientations=1)
    assert diagonal_share(img) > 0.95
    assert diagonal_share(upright) > 0.95  # matching whole bands keeps the balance (0.957)
    assert diagonal_share(oriented) < diagonal_share(upright) - 0.03  # 0.911


def test_a_second_pass_brings_the_bands_closer_to_the_paintings():
    img, painting = _smooth(96, 96, 0) * 0.7 + _rough(96, 96, 1) * 0.2, _rough(128, 128, 2)
    target = texture_stats(painting)

    def gap(x: torch.Tensor) -> float:
        return float((texture_stats(x) - target)[:-2].abs().mean())

    once, twice = (match_texture(img, target, iterations=n) for n in (1, 2))
    assert gap(twice) < gap(once) < gap(img)


# -- quantiles and maps -------------------------------------------------------------------------

def test_unweighted_quantiles_agree_with_torch_quantile():
    v = torch.rand(1, 1, 40, 50, generator=_gen(1))
    q = weighted_quantiles(v, None, 11)
    ref = torch.quantile(v.flatten(), torch.linspace(0, 1, 11))
    # mid-point plotting positions: within one sample spacing of the textbook definition
    assert float((q[0] - ref).abs().max()) < 2e-3
    assert torch.all(q[0, 1:] >= q[0, :-1])


def test_quantiles_of_a_large_image_come_from_a_fair_sample():
    """Over 4,096 pixels a fixed random subset is used: close to the exact quantiles, and a
    stripe pattern whose period divides a regular sub-grid's step cannot fool it."""
    v = torch.randn(1, 1, 300, 400, generator=_gen(4))
    q = weighted_quantiles(v, None, 11)[0]
    ref = torch.quantile(v.flatten(), torch.linspace(0, 1, 11)[1:-1])
    assert float((q[1:-1] - ref).abs().max()) < 0.08
    col = torch.arange(256.0).remainder(2).view(1, 1, 1, 256).expand(1, 1, 256, 256)
    qc = weighted_quantiles(col, None, 5)[0]  # half the columns 0, half 1
    assert float(qc[1]) == 0 and float(qc[3]) == 1


def test_weights_choose_which_pixels_count():
    v = torch.cat([torch.zeros(1, 1, 10, 10), torch.ones(1, 1, 10, 10)], -1)  # left 0, right 1
    right = torch.cat([torch.zeros(1, 1, 10, 10), torch.ones(1, 1, 10, 10)], -1)
    torch.testing.assert_close(weighted_quantiles(v, right, 5), torch.ones(1, 5))
    torch.testing.assert_close(weighted_quantiles(v, 1 - right, 5), torch.zeros(1, 5))
    # no weight anywhere: the unweighted quantiles (half zeros, half ones)
    q = weighted_quantiles(v, torch.zeros_like(v), 5)
    assert float(q[0, 0]) == 0 and float(q[0, -1]) == 1
    with pytest.raises(ValueError, match="at least 2"):
        weighted_quantiles(v, None, 1)


def test_quantile_map_sends_source_knots_to_target_knots():
    src = torch.tensor([[0.0, 1.0, 3.0]])
    dst = torch.tensor([[10.0, 20.0, 21.0]])
    x = torch.tensor([-5.0, 0.0, 0.5, 1.0, 2.0, 3.0, 9.0]).view(1, 1, 1, -1)
    out = quantile_map(x, src, dst).flatten()
    torch.testing.assert_close(out, torch.tensor([10.0, 10.0, 15.0, 20.0, 20.5, 21.0, 21.0]),
                               atol=2e-3, rtol=0)


def test_a_flat_source_goes_to_the_middle_of_its_targets():
    src = torch.full((1, 5), 0.4)
    dst = torch.tensor([[0.0, 0.1, 0.5, 0.9, 1.0]])
    out = quantile_map(torch.full((1, 1, 3, 3), 0.4), src, dst)
    torch.testing.assert_close(out, torch.full_like(out, 0.5))


def test_the_tabulated_map_follows_the_exact_one():
    # heavy-tailed like a Laplacian band: most values near 0, a few large ones
    g = _gen(2)  # 96 x 96: more pixels than table points, so the table is used
    v = torch.randn(1, 1, 96, 96, generator=g).sign() * -torch.rand(1, 1, 96, 96,
                                                                     generator=g).log() * 0.02
    src = weighted_quantiles(v)
    dst = torch.sort(torch.randn(1, TEXTURE_QUANTILES, generator=_gen(3)) * 2)[0]
    exact = _exact_quantile_map(v.flatten(1), src, dst).view_as(v)
    out = quantile_map(v, src, dst)
    assert float((out - exact).abs().max()) < 0.005 * float(dst[0, -1] - dst[0, 0])
    # the map is monotone: sorting the input sorts the output
    order = v.flatten().argsort()
    assert torch.all(out.flatten()[order].diff() >= -1e-6)


# -- statistics and the match -------------------------------------------------------------------

def test_texture_stats_shape_and_rows():
    img = _rough(64, 80, 0)
    st = texture_stats(img)
    # the finest band whole, the others in oriented sub-bands, then low-pass and luminance
    assert st.shape == (1 + (TEXTURE_LEVELS - 1) * TEXTURE_ORIENTATIONS + 2, TEXTURE_QUANTILES)
    assert torch.all(st[:, 1:] >= st[:, :-1])
    y = rgb_to_yiq(img)[:, :1]
    torch.testing.assert_close(st[-1], weighted_quantiles(y)[0])  # last row: luminance
    assert texture_stats(_rough(12, 12, 0)).shape[0] == 1 + 4 + 2  # tiny: 2 bands only
    assert texture_stats(img, orientations=1).shape[0] == TEXTURE_LEVELS + 2
    torch.testing.assert_close(texture_stats(img), st, atol=0, rtol=0)  # the same every time
    with pytest.raises(ValueError, match="one"):
        texture_stats(torch.rand(2, 3, 8, 8))


def test_strength_zero_and_amount_zero_return_the_image_exactly():
    img, st = _smooth(48, 64, 0), texture_stats(_rough(64, 64, 1))
    assert torch.equal(match_texture(img, st, torch.zeros(1, 1, 48, 64)), img)
    assert torch.equal(match_texture(img, st, 1.0, amount=0.0), img)
    half = torch.cat([torch.zeros(1, 1, 48, 32), torch.ones(1, 1, 48, 32)], -1)
    out = match_texture(img, st, half)
    assert torch.equal(out[..., :32], img[..., :32])  # unstylized half untouched
    assert not torch.allclose(out[..., 32:], img[..., 32:], atol=1e-2)


def test_the_match_blends_in_as_the_cube_of_strength():
    """A uniform strength S weighs every pixel alike, so the matched image is the one of S = 1,
    blended in by S**3: near regions (low S) keep their structure."""
    img, st = _smooth(48, 64, 0) * 0.6 + _rough(48, 64, 1) * 0.3, texture_stats(_rough(64, 64, 2))
    full = match_texture(img, st, 1.0)
    inside = ((full > 1e-3) & (full < 1 - 1e-3)).all(1, keepdim=True).expand_as(full)
    assert float(inside.float().mean()) > 0.9  # (where the match clipped, so does the blend)
    for s in (0.25, 0.5, 0.8):
        for amount in (1.0, 0.5):
            want = torch.lerp(img, full, amount * s ** 3)
            got = match_texture(img, st, s, amount=amount)
            torch.testing.assert_close(got[inside], want[inside], atol=1e-5, rtol=0)


def test_at_full_strength_the_luminance_takes_the_paintings_histogram():
    img, painting = _smooth(64, 64, 0), _rough(96, 80, 1)
    out = match_texture(img, texture_stats(painting))
    y_out = weighted_quantiles(rgb_to_yiq(out)[:, :1])[0]
    y_paint = texture_stats(painting)[-1]
    # clamping to [0, 1] moves only the extremes
    assert float((y_out[4:-4] - y_paint[4:-4]).abs().max()) < 0.03
    # the chrominance is the input's where nothing was clipped
    inside = ((out > 0.01) & (out < 0.99)).all(1, keepdim=True)
    iq_in, iq_out = rgb_to_yiq(img)[:, 1:], rgb_to_yiq(out)[:, 1:]
    assert float((iq_in - iq_out).abs().masked_select(inside).max()) < 1e-4


def test_the_fine_band_follows_the_painting():
    """Style specificity in miniature: a smooth and a rough painting give different textures."""
    img = (0.5 * _smooth(64, 64, 0) + 0.5 * _rough(64, 64, 5) * 0.2 + 0.1).clamp(0, 1)
    calm = match_texture(img, texture_stats(_smooth(64, 64, 3)))
    busy = match_texture(img, texture_stats(_rough(64, 64, 4)))
    assert _band0_std(calm) < _band0_std(img) < _band0_std(busy)
    assert _band0_std(busy) > 3 * _band0_std(calm)


def test_an_image_matched_to_its_own_statistics_hardly_changes():
    img = (_smooth(64, 64, 0) * 0.6 + _rough(64, 64, 1) * 0.3).clamp(0, 1)
    out = match_texture(img, texture_stats(img))
    assert float((out - img).abs().mean()) < 0.01


def test_match_texture_checks_its_inputs():
    st = texture_stats(_rough(32, 32, 0))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        match_texture(torch.rand(1, 1, 8, 8), st)
    with pytest.raises(ValueError, match="amount"):
        match_texture(torch.rand(1, 3, 8, 8), st, amount=1.5)
    with pytest.raises(ValueError, match="rows"):
        match_texture(torch.rand(1, 3, 8, 8), st[0])
    with pytest.raises(ValueError, match="do not fit 4 orientations"):
        match_texture(torch.rand(1, 3, 8, 8), st[1:])


def test_mixing_statistics_averages_quantiles():
    a, b = texture_stats(_smooth(64, 64, 0)), texture_stats(_rough(64, 64, 1))
    torch.testing.assert_close(mix_texture_stats([a, b], [1, 0]), a)
    torch.testing.assert_close(mix_texture_stats([a, b], [1, 1]), (a + b) / 2)
    tiny = texture_stats(_rough(12, 12, 2))  # fewer bands: the shallower depth is used
    mixed = mix_texture_stats([a, tiny], [1, 1])
    assert mixed.shape == tiny.shape
    torch.testing.assert_close(mixed[-1], (a[-1] + tiny[-1]) / 2)
    with pytest.raises(ValueError, match="non-negative"):
        mix_texture_stats([a, b], [1, -1])
    with pytest.raises(ValueError, match="one weight per style"):
        mix_texture_stats([a, b], [1])


# -- any input ----------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(h=hst.integers(1, 70), w=hst.integers(1, 70), ph=hst.integers(1, 90), pw=hst.integers(1, 90),
       batch=hst.integers(1, 2), seed=hst.integers(0, 2**16), flat=hst.booleans())
def test_any_sizes_give_a_valid_image_and_keep_unstylized_pixels(h, w, ph, pw, batch, seed, flat):
    """Tiny, thin, odd-sized and flat images: finite, in [0, 1], and exactly the input wherever
    the strength is 0 (a random half of the pixels here)."""
    g = _gen(seed)
    img = torch.rand(batch, 3, h, w, generator=g)
    if flat:
        img = img[..., :1, :1].expand(-1, -1, h, w).contiguous()
    painting = torch.rand(1, 3, ph, pw, generator=g)
    strength = (torch.rand(batch, 1, h, w, generator=g) > 0.5).float()
    out = match_texture(img, texture_stats(painting), strength)
    assert out.shape == img.shape and torch.isfinite(out).all()
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    keep = (strength == 0).expand_as(img)
    assert torch.equal(out[keep], img[keep])
