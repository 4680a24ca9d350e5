"""Pure tensor operations for temporally stable video stylization.

Frame-by-frame AdaIN flickers: instance statistics and decoder details change with every frame's
noise. Two cheap remedies, each optional:

* :func:`smooth_map` - exponential moving average of proximity/strength maps over time;
* :func:`blend_previous` - blend each stylized frame with the previous *output* where the input
  did not change (a per-pixel weight from the frame difference), so static regions stay stable
  and moving ones are not ghosted. No optical flow is needed.

:func:`temporal_difference` is the flicker measure: mean absolute luminance change between
consecutive frames; :func:`smoothing_lag` measures the price of smoothing, the trail it leaves in
moving regions (research/video_smoothing_sweep.py weighs the two).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from depthstyle.color import luminance

__all__ = ["smooth_map", "change_mask", "blend_previous", "temporal_difference",
           "smoothing_lag"]


def smooth_map(previous: torch.Tensor | None, current: torch.Tensor, momentum: float
               ) -> torch.Tensor:
    """``momentum * previous + (1 - momentum) * current`` (``current`` when there is none).

    Args:
        momentum: in [0, 1); 0 disables smoothing.
    """
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    if previous is None or momentum == 0.0 or previous.shape != current.shape:
        return current
    return torch.lerp(current, previous, momentum)


def change_mask(frame: torch.Tensor, previous: torch.Tensor, tau: float = 0.04,
                blur: int = 5) -> torch.Tensor:
    """Per-pixel "unchanged" weight in [0, 1]: ``exp(-|dY| / tau)`` of the blurred luminance change.

    Args:
        frame, previous: (B, 3, H, W) RGB in [0, 1].
        tau: luminance change (0-1 scale) at which the weight falls to 1/e.
        blur: box-blur size that makes the mask robust to pixel noise.

    Returns:
        (B, 1, H, W): 1 where nothing changed, towards 0 where the scene moved.
    """
    diff = (luminance(frame) - luminance(previous)).abs()
    if blur > 1:
        diff = F.avg_pool2d(diff, blur, 1, blur // 2, count_include_pad=False)
    return torch.exp(-diff / max(tau, 1e-6))


def blend_previous(stylized: torch.Tensor, previous_output: torch.Tensor | None,
                   frame: torch.Tensor, previous_frame: torch.Tensor | None,
                   weight: float, tau: float = 0.04) -> torch.Tensor:
    """Blend the stylized frame with the previous output where the input is unchanged.

    ``out = lerp(stylized, previous_output, weight * change_mask(frame, previous_frame))``.

    Args:
        weight: in [0, 1); how much of the previous output static pixels keep (0 = off).
    """
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"weight must be in [0, 1), got {weight}")
    if previous_output is None or previous_frame is None or weight == 0.0 \
            or previous_output.shape != stylized.shape:
        return stylized
    m = change_mask(frame, previous_frame, tau) * weight
    return torch.lerp(stylized, previous_output, m)


def smoothing_lag(smoothed: torch.Tensor, unsmoothed: torch.Tensor, frame: torch.Tensor,
                  previous_frame: torch.Tensor, tau: float = 0.04) -> float:
    """Ghosting of temporal smoothing: how far the output of moving pixels lags the frame's own.

    The mean absolute luminance difference between the smoothed output and the output the
    frame alone gets (smoothing off), weighted by how much each pixel of the *input* moved
    (``1 - change_mask(frame, previous_frame, tau)``). 0 = moving regions show exactly the
    current frame's stylization; trails of earlier frames raise it. Static pixels, where
    smoothing is meant to hold the previous output, do not count.
    """
    moving = 1.0 - change_mask(frame, previous_frame, tau)
    diff = (luminance(smoothed) - luminance(unsmoothed)).abs()
    total = float(moving.sum())
    return float((diff * moving).sum()) / total if total > 0 else 0.0


def temporal_difference(previous: torch.Tensor, current: torch.Tensor) -> float:
    """Mean absolute change of luminance (or of a 1-channel map) between two frames."""
    a, b = luminance(previous), luminance(current)
    return float((a - b).abs().mean())
