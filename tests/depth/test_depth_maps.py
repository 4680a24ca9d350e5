import numpy as np
import pytest
import torch
from PIL import Image

from depthstyle.depth import ConstantDepth, DepthMapFile, find_depth_file, make_depth_source
from depthstyle.depth.maps import fill_invalid, proximity_from_values
from depthstyle.errors import DepthMapError


def test_depth_and_disparity_are_flipped_consistently():
    values = np.tile(np.linspace(1, 10, 50, dtype=np.float32), (4, 1))
    p_depth = proximity_from_values(values, "depth")
    p_disp = proximity_from_values(values, "disparity")
    assert p_depth.shape == (1, 1, 4, 50)
    assert p_depth[0, 0, 0, 0] == 1.0 and p_depth[0, 0, 0, -1] == 0.0  # small depth = near
    assert p_disp[0, 0, 0, 0] == 0.0 and p_disp[0, 0, 0, -1] == 1.0  # small disparity = far
    assert float(p_depth.min()) >= 0 and float(p_depth.max()) <= 1


def test_invalid_values_are_filled_from_neighbours():
    values = np.full((10, 10), 5.0, dtype=np.float32)
    values[:, :5] = 1.0
    values[2, 2] = np.nan
    values[7, 8] = np.inf
    values[0, 9] = 0.0  # sensor "unknown"
    p = proximity_from_values(values, "depth")
    assert torch.isfinite(p).all()
    assert p[0, 0, 2, 2] == pytest.approx(1.0)  # filled from its near neighbours
    assert p[0, 0, 7, 8] == pytest.approx(0.0)
    assert p[0, 0, 0, 9] == pytest.approx(0.0)


def test_all_invalid_is_an_error():
    with pytest.raises(DepthMapError, match="no valid values"):
        proximity_from_values(np.full((4, 4), np.nan, dtype=np.float32), "depth", name="d.npy")
    with pytest.raises(DepthMapError, match="kind"):
        proximity_from_values(np.ones((4, 4)), "height")


def test_constant_map_is_flat():
    p = proximity_from_values(np.full((6, 6), 3.0), "depth")
    assert torch.count_nonzero(p) == 0


def test_fill_invalid_large_hole():
    v = torch.zeros(1, 1, 40, 40)
    v[..., :, :2] = 1.0
    valid = torch.zeros_like(v, dtype=torch.bool)
    valid[..., :, :2] = True
    out = fill_invalid(v, valid)
    assert torch.allclose(out, torch.ones_like(out))


def _fill_by_hand(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The same growing-window fill, written out pixel by pixel (the reference)."""
    out, known = np.where(valid, values, 0.0).astype(np.float64), valid.copy()
    h, w = values.shape
    k = 3
    while not known.all():
        r = k // 2
        new = out.copy()
        newly = np.zeros_like(known)
        for y in range(h):
            for x in range(w):
                if known[y, x]:
                    continue
                win = (slice(max(0, y - r), y + r + 1), slice(max(0, x - r), x + r + 1))
                if known[win].any():
                    new[y, x] = out[win][known[win]].mean()
                    newly[y, x] = True
        out, known = new, known | newly
        k = min(2 * k + 1, 2 * max(h, w) + 1)
    return out


def test_fill_invalid_matches_a_pixel_by_pixel_reference():
    rng = np.random.default_rng(0)
    values = rng.uniform(100, 5000, (23, 31))  # sensor-like magnitudes: sums need float64
    valid = rng.random((23, 31)) > 0.6
    valid[5:18, 8:25] = False  # and a large hole
    got = fill_invalid(torch.from_numpy(values).float()[None, None],
                       torch.from_numpy(valid)[None, None])[0, 0].numpy()
    np.testing.assert_allclose(got, _fill_by_hand(values, valid), rtol=1e-5)
    np.testing.assert_array_equal(got[valid], values[valid].astype(np.float32))


def test_depth_map_file_resizes_and_checks_aspect(tmp_path):
    arr = (np.tile(np.linspace(1000, 5000, 40), (30, 1))).astype(np.uint16)
    Image.fromarray(arr).save(tmp_path / "c.depth.png")
    src = DepthMapFile(tmp_path / "c.depth.png", "depth")
    p = src(torch.rand(2, 3, 60, 80))
    assert p.shape == (2, 1, 60, 80)
    assert p[0, 0, 0, 0] > 0.95 and p[0, 0, 0, -1] < 0.05
    with pytest.raises(DepthMapError, match="aspect ratio"):
        src(torch.rand(1, 3, 80, 80))
    assert find_depth_file(tmp_path, "c") == tmp_path / "c.depth.png"
    assert find_depth_file(tmp_path, "zzz") is None


def test_make_depth_source_variants(tmp_path):
    assert isinstance(make_depth_source("none"), ConstantDepth)
    assert isinstance(make_depth_source(None), ConstantDepth)
    np.save(tmp_path / "m.npy", np.random.default_rng(0).random((5, 5)).astype(np.float32) + 1)
    assert isinstance(make_depth_source(tmp_path / "m.npy", kind="disparity"), DepthMapFile)
    with pytest.raises(DepthMapError, match="no such file"):
        make_depth_source(tmp_path / "missing.png")


def test_shared_ground_truth_disparity_decodes(shared):
    d = DepthMapFile(shared / "depth" / "middlebury2005_books.depth.png", "disparity")
    p = d(torch.rand(1, 3, 370, 463))
    assert p.shape == (1, 1, 370, 463) and float(p.std()) > 0.1


# --- guards found by mutation testing (docs/testing.md) ----------------------------------------

def test_errors_name_the_map_and_its_shape():
    with pytest.raises(DepthMapError, match=r"room\.npy: expected an \(H, W\) map, got shape "
                                            r"\(2, 3, 4\)"):
        proximity_from_values(np.ones((2, 3, 4)), "depth", name="room.npy")
    with pytest.raises(DepthMapError, match=r"room\.npy: expected an .* \(1, 2, 3, 4\)"):
        proximity_from_values(torch.ones(1, 2, 3, 4), "depth", name="room.npy")
    with pytest.raises(DepthMapError, match=r"room\.npy: no valid values"):
        proximity_from_values(np.zeros((3, 3)), "depth", name="room.npy")
    with pytest.raises(DepthMapError, match=r"depth map: kind must be"):
        proximity_from_values(np.ones((3, 3)), "inverse")


def test_size_resizes_after_filling():
    v = np.tile(np.linspace(1, 4, 8, dtype=np.float32), (4, 1))  # depth grows to the right
    p = proximity_from_values(v, "depth", size=(8, 16))
    assert p.shape == (1, 1, 8, 16)
    want = torch.nn.functional.interpolate(proximity_from_values(v, "depth"), size=(8, 16),
                                           mode="bilinear", align_corners=False)
    torch.testing.assert_close(p, want)
    assert proximity_from_values(v, "depth", size=(4, 8)).shape == (1, 1, 4, 8)


def test_normalisation_is_per_image():
    from depthstyle.depth.maps import normalize_proximity

    a = torch.linspace(0, 1, 16).view(1, 1, 4, 4)
    b = a * 100 + 50  # another range entirely
    both = normalize_proximity(torch.cat([a, b]))
    torch.testing.assert_close(both[0], normalize_proximity(a)[0])
    torch.testing.assert_close(both[1], normalize_proximity(b)[0])
    flat = normalize_proximity(torch.cat([a, torch.full_like(a, 7.0)]))
    assert float(flat[1].abs().max()) == 0 and float(flat[0].max()) == 1


def test_one_valid_pixel_fills_a_long_map():
    """The window grows until it reaches the farthest pixel, also along the long side."""
    v = torch.zeros(1, 1, 3, 61)
    valid = torch.zeros(1, 1, 3, 61, dtype=torch.bool)
    v[0, 0, 1, 0], valid[0, 0, 1, 0] = 5.0, True
    out = fill_invalid(v, valid)
    assert torch.allclose(out, torch.full_like(out, 5.0))


def test_an_image_without_valid_values_in_a_batch_stays_zero():
    from depthstyle.depth.maps import normalize_proximity

    p = torch.cat([torch.linspace(0, 1, 16).view(1, 1, 4, 4), torch.zeros(1, 1, 4, 4)])
    valid = torch.cat([torch.ones(1, 1, 4, 4, dtype=torch.bool),
                       torch.zeros(1, 1, 4, 4, dtype=torch.bool)])
    out = normalize_proximity(p, valid)
    assert float(out[1].abs().max()) == 0 and float(out[0].max()) == 1
    filled = fill_invalid(p, valid)
    assert filled is not None and float(filled[1].abs().max()) == 0
    torch.testing.assert_close(filled[0], p[0])


def test_nearly_flat_map_falls_back_to_min_max():
    """Robust quantiles of a map that is constant except for a few pixels coincide; the
    extremes then decide, so the few pixels still stand out instead of everything going flat."""
    from depthstyle.depth.maps import normalize_proximity

    p = torch.full((1, 1, 40, 40), 0.3)
    p[0, 0, 0, 0] = 0.8
    out = normalize_proximity(p)
    assert float(out[0, 0, 0, 0]) == 1.0 and float(out[0, 0, 5, 5]) == 0.0


def test_normalisation_is_robust_to_outliers_and_to_an_empty_first_image():
    from depthstyle.depth.maps import normalize_proximity

    ramp = torch.linspace(0, 1, 400).view(1, 1, 20, 20).clone()
    ramp[0, 0, 0, 0] = 100.0  # one wild pixel does not squash the rest
    out = normalize_proximity(ramp)
    assert float(out[0, 0, 10, 10]) > 0.4
    p = torch.cat([torch.zeros(1, 1, 20, 20), torch.linspace(0, 1, 400).view(1, 1, 20, 20)])
    valid = torch.cat([torch.zeros(1, 1, 20, 20, dtype=torch.bool),
                       torch.ones(1, 1, 20, 20, dtype=torch.bool)])
    out = normalize_proximity(p, valid)
    assert float(out[1].max()) == 1.0 and float(out[0].abs().max()) == 0.0


@pytest.mark.parametrize("numel, hi", [(1_000_000, 5.0),   # every value
                                       (1_000_001, 4.0),   # over 1 MP: every 2nd value
                                       (2_000_001, 3.0)])  # every 3rd
def test_maps_over_a_megapixel_take_their_quantiles_from_every_kth_value(numel, hi):
    """Values j mod 6: all of them reach 5, every 2nd one 4, every 3rd one 3 (the 99 % quantile;
    the 1 % quantile is 0 in each), so the sampling rule shows in the normalised values."""
    from depthstyle.depth.maps import normalize_proximity

    p = (torch.arange(numel) % 6).float().view(1, 1, 1, numel)
    out = normalize_proximity(p)
    assert float(out[0, 0, 0, 3]) == pytest.approx(min(1.0, 3.0 / hi), abs=1e-6)  # value 3
    assert float(out[0, 0, 0, 1]) == pytest.approx(1.0 / hi, abs=1e-6)  # value 1


def test_tiny_but_real_spreads_are_not_flat():
    """A map whose robust range is 1.5e-12 (above the 1e-12 flatness tolerance) keeps its depth:
    its quantiles are used even though 0.5 % outliers reach 1.0."""
    from depthstyle.depth.maps import normalize_proximity

    p = torch.cat([torch.zeros(495), torch.full((500,), 1.5e-12), torch.ones(5)])
    out = normalize_proximity(p.view(1, 1, 1, -1))[0, 0, 0]
    assert torch.equal(out[:495], torch.zeros(495))
    assert torch.equal(out[495:], torch.ones(505))


def test_depth_runs_at_the_default_depth_size_unless_told():
    from depthstyle.cli.main import build_parser
    from depthstyle.depth.catalog import DEFAULT_DEPTH_SIZE

    assert DEFAULT_DEPTH_SIZE == 266
    assert make_depth_source("auto").resolution == DEFAULT_DEPTH_SIZE
    args = build_parser().parse_args(["stylize", "a.jpg", "-s", "b.jpg", "-o", "o.png"])
    assert args.depth_resolution == DEFAULT_DEPTH_SIZE
    args = build_parser().parse_args(["stylize", "a.jpg", "-s", "b.jpg", "-o", "o.png",
                                      "--depth-size", "182"])
    assert args.depth_resolution == 182
    assert make_depth_source("auto", resolution=None).resolution is None  # the model's own
