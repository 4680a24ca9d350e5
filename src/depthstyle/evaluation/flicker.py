"""Flicker of a stylized video relative to its input.

``TD(v)`` is the mean absolute luminance change between consecutive frames (in [0, 1] units);
the flicker ratio is ``TD(stylized) / TD(input)``: 1 means the output changes as much as the
input does, larger values mean added flicker. Both videos are read frame by frame.
"""

from __future__ import annotations

import os

from depthstyle.video.stylize import iter_frames
from depthstyle.video.temporal import temporal_difference

__all__ = ["video_temporal_difference", "flicker_ratio"]


def video_temporal_difference(path: str | os.PathLike, max_frames: int | None = None
                              ) -> tuple[float, int]:
    """Mean temporal difference of a video's luminance, and the number of frames read."""
    total, count, prev = 0.0, 0, None
    for img in iter_frames(path, max_frames):
        if prev is not None and prev.shape == img.shape:
            total += temporal_difference(prev, img)
        prev = img
        count += 1
    return (total / (count - 1) if count > 1 else 0.0), count


def flicker_ratio(original: str | os.PathLike, stylized: str | os.PathLike,
                  max_frames: int | None = None) -> dict:
    """Temporal differences of both videos and their ratio (stylized / original)."""
    td_in, n_in = video_temporal_difference(original, max_frames)
    td_out, n_out = video_temporal_difference(stylized, max_frames)
    return {"original": str(original), "stylized": str(stylized), "frames_original": n_in,
            "frames_stylized": n_out, "td_original": td_in, "td_stylized": td_out,
            "flicker_ratio": td_out / td_in if td_in > 0 else None}
