"""Video stylization with temporal smoothing (``depthstyle video``); needs PyAV."""

from depthstyle.video.stylize import (
    CONTAINERS,
    FrameStylizer,
    VideoReport,
    VideoSettings,
    open_video,
    stylize_video,
)
from depthstyle.video.temporal import (
    blend_previous,
    change_mask,
    smooth_map,
    temporal_difference,
)

__all__ = ["CONTAINERS", "FrameStylizer", "VideoReport", "VideoSettings", "open_video",
           "stylize_video",
           "blend_previous", "change_mask", "smooth_map", "temporal_difference"]
