import pytest
import torch

from depthstyle.errors import SettingsError
from depthstyle.strength import StrengthTransform, strength_from_proximity


def ramp(n=64):
    return torch.linspace(0, 1, n).view(1, 1, 1, n)


@pytest.mark.parametrize("offset,contrast,alpha", [(0.0, 1.0, 1.0), (0.2, 10.0, 1.0),
                                                   (0.5, 50.0, 0.7), (1.0, 5.0, 0.3),
                                                   (0.3, 0.0, 1.0)])
def test_strength_range_and_monotone(offset, contrast, alpha):
    s = strength_from_proximity(ramp(), offset, contrast, alpha=alpha)
    assert s.shape == (1, 1, 1, 64)
    assert float(s.min()) >= alpha * offset - 1e-6
    assert float(s.max()) <= alpha + 1e-6
    assert bool((s[..., :-1] >= s[..., 1:] - 1e-7).all()), "strength must not grow with proximity"


def test_strength_formula_hand_value():
    p = torch.tensor([0.0, 1.0]).view(1, 1, 1, 2)  # mean 0.5
    s = strength_from_proximity(p, offset=0.2, contrast=4.0)
    near = min(torch.sigmoid(torch.tensor(2.0)).item(), 0.8)  # clamped at 1 - offset
    far = torch.sigmoid(torch.tensor(-2.0)).item()
    assert s[0, 0, 0, 1].item() == pytest.approx(1 - near)
    assert s[0, 0, 0, 0].item() == pytest.approx(1 - far)


def test_near_keeps_more_content_than_far():
    s = strength_from_proximity(ramp(), 0.1, 20.0)
    assert s[..., 0] > 0.95 and s[..., -1] < 0.15


def test_flat_proximity_is_uniform_alpha():
    for value in (0.0, 0.4, 1.0):
        s = strength_from_proximity(torch.full((2, 1, 5, 7), value), 0.3, 10.0, alpha=0.6)
        assert torch.allclose(s, torch.full_like(s, 0.6))


def test_invert_reverses_order():
    s = strength_from_proximity(ramp(), 0.1, 10.0, invert=True)
    assert bool((s[..., :-1] <= s[..., 1:] + 1e-7).all())
    assert s[..., -1] > s[..., 0]


def test_alpha_zero_gives_zero_strength():
    s = strength_from_proximity(ramp(), 0.5, 10.0, alpha=0.0)
    assert torch.count_nonzero(s) == 0


def test_module_twin_matches_function():
    p = torch.rand(2, 1, 9, 9)
    m = StrengthTransform(0.25, 7.0, alpha=0.8, invert=True)
    torch.testing.assert_close(m(p), strength_from_proximity(p, 0.25, 7.0, alpha=0.8, invert=True))


@pytest.mark.parametrize("kwargs,match", [({"offset": -0.1}, "offset"), ({"offset": 1.5}, "offset"),
                                          ({"contrast": -1.0}, "contrast"),
                                          ({"contrast": float("nan")}, "contrast"),
                                          ({"alpha": 2.0}, "alpha")])
def test_bad_parameters(kwargs, match):
    params = {"offset": 0.2, "contrast": 10.0, "alpha": 1.0} | kwargs
    with pytest.raises(SettingsError, match=match):
        strength_from_proximity(ramp(), params["offset"], params["contrast"], alpha=params["alpha"])


def test_bad_shape():
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        strength_from_proximity(torch.rand(1, 3, 4, 4))


# --- guards found by mutation testing (docs/testing.md) ----------------------------------------

def test_each_image_of_a_batch_is_transformed_on_its_own():
    """Mean and flatness are per image: a second, different map in the batch changes nothing."""
    a = ramp()
    b = torch.full_like(a, 0.3)  # flat: uniform strength
    b[..., :8] = 0.9
    both = strength_from_proximity(torch.cat([a, b]), 0.2, 10.0)
    torch.testing.assert_close(both[:1], strength_from_proximity(a, 0.2, 10.0))
    torch.testing.assert_close(both[1:], strength_from_proximity(b, 0.2, 10.0))
    flat = strength_from_proximity(torch.cat([a, torch.full_like(a, 0.4)]), 0.2, 10.0, alpha=0.6)
    assert torch.allclose(flat[1], torch.tensor(0.6))  # a flat map gives uniform alpha


def test_proximity_outside_0_1_is_clamped_first():
    p = torch.tensor([-0.5, 0.0, 0.5, 1.0, 1.5]).view(1, 1, 1, 5)
    torch.testing.assert_close(strength_from_proximity(p, 0.2, 10.0),
                               strength_from_proximity(p.clamp(0, 1), 0.2, 10.0))


def test_invert_swaps_near_and_far_exactly():
    p = ramp()
    torch.testing.assert_close(strength_from_proximity(p, 0.2, 10.0, invert=True),
                               strength_from_proximity(1 - p, 0.2, 10.0))


def test_module_defaults_and_checks():
    torch.testing.assert_close(StrengthTransform(0.2, 10.0)(ramp()),
                               strength_from_proximity(ramp(), 0.2, 10.0))
    for kwargs in ({"contrast": -1.0}, {"contrast": float("inf")}, {"alpha": 1.5},
                   {"alpha": -0.1}, {"offset": 1.2}):
        with pytest.raises(SettingsError):
            StrengthTransform(**{"offset": 0.2, "contrast": 10.0, **kwargs})
    with pytest.raises(SettingsError, match="contrast"):
        strength_from_proximity(ramp(), 0.2, float("inf"))


def test_check_strength_params_defaults_to_full_alpha():
    from depthstyle.strength import check_strength_params

    check_strength_params(0.2, 10.0)  # alpha defaults to 1, which is valid
    with pytest.raises(SettingsError, match="alpha"):
        check_strength_params(0.2, 10.0, 1.01)


def test_a_proximity_spread_of_exactly_the_flatness_threshold_still_has_depth():
    """Spreads below 1e-4 count as no depth information (uniform strength); 1e-4 itself not."""
    from depthstyle.strength import strength_from_proximity

    thr = torch.tensor(1e-4, dtype=torch.float32)
    p = torch.zeros(1, 1, 2, 2)
    p[..., 0, 0] = thr  # spread exactly the threshold (as float32)
    s = strength_from_proximity(p, 0.2, 10.0)
    assert float(s.min()) < 1.0  # transformed, not the flat fallback
    q = torch.zeros(1, 1, 2, 2)
    q[..., 0, 0] = thr / 2
    assert torch.equal(strength_from_proximity(q, 0.2, 10.0), torch.ones_like(q))
