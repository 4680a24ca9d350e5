"""Stylize a video stream with PyAV (FFmpeg bindings): ``depthstyle video``.

Frames are decoded, stylized and encoded one at a time (memory does not grow with the clip's
length). Video timestamps are copied, so frame rate and duration are kept; the audio stream is
remuxed packet by packet, untouched. The output is written to a temporary file beside the target
and moved into place only when complete, so an interrupted run leaves no broken file.

Style statistics are computed once (the :class:`~depthstyle.pipeline.Stylizer` cache). Depth is
estimated every ``depth_every`` frames and, like the strength map, smoothed over time; the output
can be blended with the previous output where the scene is static (see
:mod:`depthstyle.video.temporal`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from depthstyle.depth import ConstantDepth, DepthSource
from depthstyle.errors import DepthStyleError, SettingsError
from depthstyle.io import atomic_output
from depthstyle.pipeline import StyleSettings, Stylizer
from depthstyle.video.temporal import blend_previous, smooth_map, temporal_difference

__all__ = ["VideoSettings", "VideoReport", "FrameStylizer", "stylize_video", "open_video",
           "iter_frames", "CONTAINERS"]

log = logging.getLogger(__name__)

# output suffix -> (container format, default video codec)
CONTAINERS = {".mp4": ("mp4", "libx264"), ".mov": ("mov", "libx264"),
              ".mkv": ("matroska", "libx264"), ".webm": ("webm", "libvpx-vp9")}


@dataclass(frozen=True)
class VideoSettings:
    """Video-specific options (stylization options live in :class:`StyleSettings`).

    Attributes:
        size: longer side of the output frames (``None`` = input size); rounded to even.
        codec: video encoder (default by container: libx264 for mp4/mov/mkv).
        crf: constant rate factor for x264/VP9 (lower = better quality, larger file).
        depth_every: estimate depth every k frames (held in between).
        depth_momentum: EMA momentum of proximity and strength maps over time (0 = off).
        output_smoothing: weight of the previous output in static regions (0 = off).
        change_tau: luminance change at which a pixel counts as moving (see ``change_mask``).
        max_frames: stop after this many frames (``None`` = whole clip).
    """

    size: int | None = None
    codec: str | None = None
    crf: int = 20
    depth_every: int = 1
    depth_momentum: float = 0.6
    # research/video_smoothing_sweep.py: on the shared clip 0.7 / 0.02 flickers less than the
    # old 0.5 / 0.04 with shorter trails, for every bundled model; with camera-like noise it
    # trades a little flicker for shorter trails (benchmarks/RESULTS.md, "Video smoothing")
    output_smoothing: float = 0.7
    change_tau: float = 0.02
    max_frames: int | None = None

    def validate(self) -> None:
        """Raise :class:`SettingsError` for invalid values."""
        if self.depth_every < 1:
            raise SettingsError(f"depth_every must be >= 1, got {self.depth_every}")
        if not 0 <= self.depth_momentum < 1 or not 0 <= self.output_smoothing < 1:
            raise SettingsError("depth momentum and output smoothing must be in [0, 1)")
        if not 0 < self.change_tau <= 1:
            raise SettingsError(f"change tau must be in (0, 1], got {self.change_tau}")
        if not 0 <= self.crf <= 63:
            raise SettingsError(f"crf must be in 0..63, got {self.crf}")
        if self.size is not None and self.size < 16:
            raise SettingsError(f"size must be >= 16, got {self.size}")
        if self.max_frames is not None and self.max_frames < 1:
            raise SettingsError("max_frames must be >= 1")


@dataclass
class VideoReport:
    """What :func:`stylize_video` did, with temporal-difference (flicker) measurements."""

    frames: int = 0
    skipped_packets: int = 0
    audio_packets: int = 0
    fps: float = 0.0
    size: tuple[int, int] = (0, 0)
    seconds: float = 0.0
    td_input: list[float] = field(default_factory=list, repr=False)
    td_output: list[float] = field(default_factory=list, repr=False)
    td_proximity: list[float] = field(default_factory=list, repr=False)
    td_strength: list[float] = field(default_factory=list, repr=False)

    def summary(self) -> dict:
        """Frame count, throughput and mean temporal differences (flicker ratio = out / in)."""
        def mean(v):
            return float(np.mean(v)) if v else 0.0

        td_in = mean(self.td_input)
        return {"frames": self.frames, "skipped_packets": self.skipped_packets,
                "audio_packets": self.audio_packets, "fps": self.fps, "size": list(self.size),
                "seconds": self.seconds,
                "frames_per_second": self.frames / self.seconds if self.seconds else 0.0,
                "td_input": td_in, "td_output": mean(self.td_output),
                "flicker_ratio": mean(self.td_output) / td_in if td_in > 0 else None,
                "td_proximity": mean(self.td_proximity), "td_strength": mean(self.td_strength)}


def _av():
    try:
        import av
    except ImportError:
        raise DepthStyleError("video needs PyAV: pip install 'depthstyle[video]'") from None
    return av


def open_video(path: str | os.PathLike):
    """Open a video file for reading; returns (container, video stream, audio stream or None).

    Raises:
        DepthStyleError: missing/unreadable file or no video stream.
    """
    av = _av()
    p = Path(path)
    if not p.is_file():
        raise DepthStyleError(f"{p}: no such file")
    try:
        container = av.open(str(p))
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise DepthStyleError(f"{p}: not a readable video ({exc})") from None
    if not container.streams.video:
        container.close()
        raise DepthStyleError(f"{p}: has no video stream")
    audio = container.streams.audio[0] if container.streams.audio else None
    return container, container.streams.video[0], audio


def iter_frames(path: str | os.PathLike, max_frames: int | None = None):
    """The video's frames in order, as (1, 3, H, W) RGB tensors in [0, 1].

    At most ``max_frames``; the file is closed when the iteration ends.

    Raises:
        DepthStyleError: as :func:`open_video`, on the first ``next``.
    """
    container, stream, _ = open_video(path)
    try:
        for i, frame in enumerate(container.decode(stream)):
            if max_frames and i >= max_frames:
                break
            yield frame_to_tensor(frame)
    finally:
        container.close()


def frame_to_tensor(frame) -> torch.Tensor:
    """A decoded PyAV video frame as (1, 3, H, W) RGB in [0, 1]."""
    arr = frame.to_ndarray(format="rgb24")
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).float() / 255.0


def _tensor_to_array(img: torch.Tensor) -> np.ndarray:
    return (img[0].clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def stylize_video(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    stylizer: Stylizer,
    style,
    settings: StyleSettings | None = None,
    video: VideoSettings | None = None,
    *,
    depth: DepthSource | None = None,
    overwrite: bool = False,
    progress: bool = True,
    on_frame: Callable[[int], None] | None = None,
) -> VideoReport:
    """Stylize the video ``src`` into ``dst`` (atomically), keeping timing and audio.

    Args:
        src, dst: input and output paths; the container follows ``dst``'s suffix
            (.mp4, .mov, .mkv, .webm).
        stylizer: the pipeline (its style cache makes the style cost paid once).
        style: style image path or tensor (or a list, interpolated with ``style_weights``).
        settings: stylization settings; ``content_size`` is ignored (see ``video.size``).
        video: :class:`VideoSettings`.
        depth: proximity source per frame (``None`` = no depth, uniform strength).
        overwrite: replace an existing ``dst``.

    Returns:
        :class:`VideoReport` with frame counts and temporal differences.

    Raises:
        DepthStyleError: unreadable input, no video stream, zero decodable frames, or an
            unsupported output suffix/codec. ``dst`` is never left half-written.
        OutputExistsError: ``dst`` exists and ``overwrite`` is false.
    """
    import time

    av = _av()
    settings = settings or StyleSettings()
    video = video or VideoSettings()
    video.validate()
    depth = depth or ConstantDepth()
    frames = FrameStylizer(stylizer, style, settings, video, depth)
    from depthstyle.depth import DepthOrigin, origin_of

    if settings.depth_aware:
        log.info("%s: %s (every %d frame(s), smoothed over time)", Path(src).name,
                 origin_of(depth).describe(), video.depth_every)
    else:
        log.info("%s: %s", Path(src).name, DepthOrigin("off").describe())
    dst = Path(dst)
    if dst.suffix.lower() not in CONTAINERS:
        raise SettingsError(f"{dst}: unsupported output type {dst.suffix!r}; use "
                            f"{', '.join(CONTAINERS)}")
    fmt, default_codec = CONTAINERS[dst.suffix.lower()]
    check_codec(video.codec or default_codec)
    report = VideoReport()
    container, vin, ain = open_video(src)
    started = time.perf_counter()
    try:
        with atomic_output(dst, overwrite=overwrite) as tmp:
            out = av.open(str(tmp), "w", format=fmt)
            try:
                report = _process(av, container, vin, ain, out, frames, video, default_codec,
                                  report, progress, on_frame)
            except av.error.FFmpegError as exc:  # the demuxer or muxer itself failed
                raise DepthStyleError(f"{src}: video could not be processed ({exc})") from None
            finally:
                out.close()
            if report.frames == 0:
                raise DepthStyleError(f"{src}: no decodable video frames")
    finally:
        container.close()
    report.seconds = time.perf_counter() - started
    return report


def check_codec(name: str) -> None:
    """Raise :class:`SettingsError` unless FFmpeg (PyAV) has an encoder called ``name``."""
    av = _av()
    try:
        av.codec.Codec(name, "w")
    except Exception:  # noqa: BLE001 - PyAV raises UnknownCodecError or ValueError by version
        raise SettingsError(f"unknown video encoder {name!r}; e.g. libx264 (mp4, mov, mkv), "
                            "libvpx-vp9 (webm), mpeg4") from None


class FrameStylizer:
    """Stylizes the frames of one clip in order, carrying the temporal state between them.

    Each frame asks the pipeline for proximity (every ``depth_every`` frames) and strength,
    with the proximity and the strength smoothed over time, so every strength mode
    (hand-set, learned, uniform) works on video. The stylized frame is then blended with the
    previous output where the scene is static.

    Args:
        stylizer: the pipeline.
        style: the style image (path or tensor).
        settings: checked once here; frames are stylized at their own size.
        video: temporal options.
        depth: proximity source per frame.
    """

    def __init__(self, stylizer: Stylizer, style, settings: StyleSettings, video: VideoSettings,
                 depth: DepthSource) -> None:
        stylizer.check(settings)
        self.stylizer, self.style, self.video, self.depth = stylizer, style, video, depth
        self.settings = settings
        self.frame_settings = replace(settings, content_size=None)
        self.index = 0
        self.raw_prox = self.prox_s = self.strength_s = None
        self.prev_frame = self.prev_out = None

    def __call__(self, img: torch.Tensor, report: VideoReport) -> torch.Tensor:
        """Stylize the next frame (1, 3, H, W); appends its temporal differences to ``report``."""
        st, settings, video = self.stylizer, self.settings, self.video
        if self.raw_prox is None or self.index % video.depth_every == 0:
            self.raw_prox = st.proximity(img, settings, self.depth)
        prox_s = smooth_map(self.prox_s, self.raw_prox, video.depth_momentum)
        stats = None
        if settings.learned_strength:
            recolor = img if settings.preserve_color == "histogram" else None
            stats = [st.style_stats(self.style, settings.style_size, recolor)]
        strength = st.strength(prox_s, settings, img, stats)
        strength_s = _smooth_maps(self.strength_s, strength, video.depth_momentum)
        stylized = st(img, self.style, self.frame_settings, strength=strength_s).image
        output = blend_previous(stylized, self.prev_out, img, self.prev_frame,
                                video.output_smoothing, video.change_tau)
        if self.prev_frame is not None:
            report.td_input.append(temporal_difference(self.prev_frame, img))
            report.td_output.append(temporal_difference(self.prev_out, output))
            report.td_proximity.append(temporal_difference(self.prox_s, prox_s))
            report.td_strength.append(temporal_difference(_shown(self.strength_s),
                                                          _shown(strength_s)))
        self.prev_frame, self.prev_out = img, output
        self.prox_s, self.strength_s = prox_s, strength_s
        self.index += 1
        return output


def _smooth_maps(previous, current, momentum: float):
    """:func:`smooth_map` for one map or a list of per-level maps."""
    if isinstance(current, list):
        prev = previous if isinstance(previous, list) else [None] * len(current)
        return [smooth_map(p, c, momentum) for p, c in zip(prev, current, strict=True)]
    return smooth_map(previous, current, momentum)


def _shown(strength):
    """The displayed (B, 1, H, W) strength of one map or per-level maps."""
    return strength[-1].mean(1, keepdim=True) if isinstance(strength, list) else strength


def _process(av, container, vin, ain, out, frames: FrameStylizer, video: VideoSettings,
             default_codec: str, report: VideoReport, progress: bool, on_frame):
    from tqdm.auto import tqdm

    width, height = _output_size(vin.codec_context.width, vin.codec_context.height, video.size)
    # every stream must exist before the first packet is muxed (the header is written then)
    vout = video_stream(out, vin, video.codec or default_codec, width, height,
                        {"crf": str(video.crf)})
    report.fps, report.size = float(vout.average_rate or 25), (width, height)
    aout = out.add_stream_from_template(ain) if ain is not None else None
    total = vin.frames or None
    if video.max_frames:
        total = min(total or video.max_frames, video.max_frames)
    bar = tqdm(total=total, unit="frame", desc="video", disable=None if progress else True)
    streams = [vin] + ([ain] if ain is not None else [])
    done = False
    for packet in container.demux(*streams):
        if done:
            break
        if packet.stream.type == "audio":
            if packet.dts is None:
                continue
            packet.stream = aout
            out.mux(packet)
            report.audio_packets += 1
            continue
        try:
            decoded = packet.decode()
        except av.error.FFmpegError as exc:  # corrupt packet: skip and count, never hang
            report.skipped_packets += 1
            log.warning("skipping undecodable video packet (%d so far): %s",
                        report.skipped_packets, exc)
            continue
        for frame in decoded:
            output = frames(frame_input(frame, height, width), report)
            for pkt in vout.encode(output_frame(av, output, frame)):
                out.mux(pkt)
            report.frames += 1
            bar.update(1)
            if on_frame:
                on_frame(report.frames)
            if video.max_frames and report.frames >= video.max_frames:
                done = True
                break
    for pkt in vout.encode():
        out.mux(pkt)
    bar.close()
    return report


def frame_input(frame, height: int, width: int) -> torch.Tensor:
    """A decoded frame as (1, 3, height, width) RGB in [0, 1], resized if it is not that size."""
    img = frame_to_tensor(frame)
    if tuple(img.shape[-2:]) != (height, width):
        img = torch.nn.functional.interpolate(
            img, size=(height, width), mode="bicubic", antialias=True,
            align_corners=False).clamp(0, 1)
    return img


def output_frame(av, output: torch.Tensor, frame):
    """The stylized ``output`` as a yuv420p video frame with the source ``frame``'s clock."""
    vframe = av.VideoFrame.from_ndarray(_tensor_to_array(output), format="rgb24")
    vframe = vframe.reformat(format="yuv420p")
    vframe.pts, vframe.time_base = frame.pts, frame.time_base
    return vframe


def video_stream(out, vin, codec: str, width: int, height: int, options: dict[str, str]):
    """An output video stream like ``vin`` (frame rate, time base), yuv420p, ``options``."""
    stream = out.add_stream(codec, rate=vin.average_rate or vin.guessed_rate or 25)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.time_base = vin.time_base
    stream.codec_context.time_base = vin.time_base
    stream.options = options
    return stream


def _output_size(width: int, height: int, size: int | None) -> tuple[int, int]:
    """Output (width, height): longer side ``size`` if given, both even (for yuv420p)."""
    if not width or not height:
        raise DepthStyleError("the video stream reports no frame size")
    if size:
        s = size / max(width, height)
        width, height = max(2, round(width * s)), max(2, round(height * s))
    return width - width % 2, height - height % 2

