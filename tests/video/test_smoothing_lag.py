"""smoothing_lag: the trail that output smoothing leaves where the input moved."""

import pytest
import torch

from depthstyle.video.temporal import blend_previous, change_mask, smoothing_lag


def _frames():
    prev = torch.full((1, 3, 32, 32), 0.2)
    frame = prev.clone()
    frame[..., :, 16:] = 0.8  # the right half moved, the left half did not
    return prev, frame


def test_no_trail_when_the_output_is_the_frames_own():
    prev, frame = _frames()
    out = torch.rand(1, 3, 32, 32)
    assert smoothing_lag(out, out, frame, prev) == 0.0


def test_differences_in_static_pixels_do_not_count():
    prev, frame = _frames()
    raw = torch.rand(1, 3, 32, 32)
    smoothed = raw.clone()
    smoothed[..., :, :8] += 0.3  # far inside the static half (the change mask blurs 5 px)
    assert smoothing_lag(smoothed, raw, frame, prev) == pytest.approx(0.0, abs=1e-6)


def test_a_trail_in_moving_pixels_counts_at_its_size():
    prev, frame = _frames()
    raw = torch.rand(1, 3, 32, 32) * 0.5
    smoothed = raw.clone()
    smoothed[..., :, 16:] += 0.2  # a grey offset: luminance +0.2 wherever the input moved
    lag = smoothing_lag(smoothed, raw, frame, prev)
    # the change mask is blurred over 5 px: two static columns beside the edge count as moving
    moving = 1 - change_mask(frame, prev)
    share = float(moving[..., 16:].sum() / moving.sum())
    assert 0.85 < share < 0.95
    assert lag == pytest.approx(0.2 * share, rel=1e-3)


def test_lag_grows_with_the_smoothing_weight_and_static_input_has_none():
    prev, frame = _frames()
    stylized, old = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    # with a loose threshold the moved half is only partly "moving": smoothing leaks into it
    lags = [smoothing_lag(blend_previous(stylized, old, frame, prev, w, tau=1.0), stylized,
                          frame, prev) for w in (0.0, 0.3, 0.6, 0.9)]
    assert lags[0] == 0.0 and lags == sorted(lags) and lags[-1] > lags[1] > 0
    assert smoothing_lag(old, stylized, prev, prev) == 0.0  # nothing moved: nothing to lag
