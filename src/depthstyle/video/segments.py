"""Segment-parallel video: cut a clip into segments, stylize them anywhere, join them.

The temporal smoothing is a running state (moving averages of the proximity and strength maps
with momentum m, and the previous output blended into static regions with weight w < 1). Both
forget their past geometrically, so a segment that starts ``warmup`` frames early, runs those
frames through the same state and throws their output away, reaches the state a run from the
first frame would have had, up to m^warmup on the maps and w^warmup on the output (with the
defaults m = 0.6, w = 0.7 and 48 warm-up frames: 2e-11 and 4e-8 of the first difference, under
float32's resolution of values near 1, so the states end bit-identical; 24 frames left 2e-4,
enough to flip the rounding of some pixels at the seam).
The seam is then measured, not assumed (tests, docs/scaling.md).

Segments are cut at frame positions of equal length; a worker seeks to the keyframe before its
warm-up and decodes from there (decoding is cheap next to stylizing). Each segment is encoded
losslessly (x264 at QP 0 in the output's pixel format); the join decodes the segments in
order and encodes them once with the output's codec and quality, muxing the original audio
untouched. The encoder so sees exactly the frames a one-machine run would give it.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from depthstyle.errors import DepthStyleError, SettingsError
from depthstyle.io import atomic_output
from depthstyle.video.stylize import (
    CONTAINERS,
    FrameStylizer,
    VideoReport,
    VideoSettings,
    _av,
    _output_size,
    check_codec,
    frame_input,
    frame_to_tensor,
    open_video,
    output_frame,
    video_stream,
)

__all__ = ["Segment", "plan_segments", "render_segment", "join_segments",
           "stylize_video_segments", "frame_factory", "DEFAULT_WARMUP"]

log = logging.getLogger("depthstyle.video")

DEFAULT_WARMUP = 48


@dataclass(frozen=True)
class Segment:
    """Frames ``[start, end)`` (presentation order) of a clip, with their warm-up.

    ``pts`` values are in the video stream's time base: ``warm_pts`` is the first frame run
    through the state only, ``start_pts`` the first frame written, ``end_pts`` the first frame
    of the next segment (``None`` for the last).
    """

    index: int
    start: int
    end: int
    warm_index: int
    warm_pts: int
    start_pts: int
    end_pts: int | None


def plan_segments(src: str | os.PathLike, segments: int, warmup: int = DEFAULT_WARMUP
                  ) -> tuple[list[Segment], list[int]]:
    """Cut a clip into ``segments`` runs of about equal frame count (packets only, no decode).

    Returns the segments and every frame's timestamp in presentation order.

    Raises:
        DepthStyleError: unreadable input, or no video packets with timestamps.
    """
    if segments < 1 or warmup < 0:
        raise SettingsError("segments must be >= 1 and warm-up >= 0")
    container, vin, _ = open_video(src)
    try:
        pts = sorted(p.pts for p in container.demux(vin) if p.pts is not None and p.size)
    finally:
        container.close()
    if not pts:
        raise DepthStyleError(f"{src}: no video packets with timestamps")
    n = len(pts)
    segments = min(segments, n)
    cuts = [round(i * n / segments) for i in range(segments + 1)]
    out = []
    for i in range(segments):
        start, end = cuts[i], cuts[i + 1]
        warm = max(0, start - warmup)
        out.append(Segment(index=i, start=start, end=end, warm_index=warm, warm_pts=pts[warm],
                           start_pts=pts[start], end_pts=pts[end] if end < n else None))
    return out, pts


def render_segment(src: str | os.PathLike, seg: Segment, dst: str | os.PathLike,
                   frames: FrameStylizer, video: VideoSettings) -> dict[str, Any]:
    """Stylize one segment of ``src`` into the lossless file ``dst``.

    ``frames`` must be fresh (its state is the warm-up's). Returns the segment's frame count
    and temporal differences (of its written frames) and the seconds it took.
    """
    av = _av()
    started = time.perf_counter()
    container, vin, _ = open_video(src)
    report = VideoReport()
    written = 0
    try:
        width, height = _output_size(vin.codec_context.width, vin.codec_context.height,
                                     video.size)
        frames.index = seg.warm_index  # depth every k frames falls on the same frames
        container.seek(seg.warm_pts, stream=vin, backward=True, any_frame=False)
        with av.open(str(dst), "w", format="matroska") as out:
            stream = video_stream(out, vin, "libx264", width, height,
                                  {"qp": "0", "preset": "ultrafast"})
            done = False
            for packet in container.demux(vin):
                if done:
                    break
                try:
                    decoded = packet.decode()
                except av.error.FFmpegError:
                    report.skipped_packets += 1
                    continue
                for frame in decoded:
                    if frame.pts is None or frame.pts < seg.warm_pts:
                        continue  # decoded from the keyframe on, before the warm-up
                    if seg.end_pts is not None and frame.pts >= seg.end_pts:
                        done = True
                        break
                    warm = frame.pts < seg.start_pts
                    output = frames(frame_input(frame, height, width),
                                    VideoReport() if warm else report)
                    if warm:
                        continue
                    for pkt in stream.encode(output_frame(av, output, frame)):
                        out.mux(pkt)
                    written += 1
            for pkt in stream.encode():
                out.mux(pkt)
    finally:
        container.close()
    if written != seg.end - seg.start:
        raise DepthStyleError(f"{src}: segment {seg.index} gave {written} frames, expected "
                              f"{seg.end - seg.start} (frames {seg.start}-{seg.end})")
    return {"frames": written, "td_input": report.td_input, "td_output": report.td_output,
            "td_proximity": report.td_proximity, "td_strength": report.td_strength,
            "skipped_packets": report.skipped_packets,
            "seconds": time.perf_counter() - started}


def join_segments(src: str | os.PathLike, parts: Sequence[str | os.PathLike],
                  pts: Sequence[int], dst: str | os.PathLike, video: VideoSettings, *,
                  overwrite: bool = False) -> VideoReport:
    """Encode the segments' frames, in order, into ``dst`` with the original audio.

    ``pts``: every frame's timestamp in the source's time base (the segment files round
    them). Also measures the output's temporal difference across every segment border.
    """
    from depthstyle.video.temporal import temporal_difference

    av = _av()
    dst = Path(dst)
    fmt, default_codec = CONTAINERS[dst.suffix.lower()]
    report = VideoReport()
    container, vin, ain = open_video(src)
    try:
        width, height = _output_size(vin.codec_context.width, vin.codec_context.height,
                                     video.size)
        audio = container.demux(ain) if ain is not None else iter(())
        pending = None
        with atomic_output(dst, overwrite=overwrite) as tmp:
            with av.open(str(tmp), "w", format=fmt) as out:
                vout = video_stream(out, vin, video.codec or default_codec, width, height,
                                    {"crf": str(video.crf)})
                report.fps, report.size = float(vout.average_rate or 25), (width, height)
                aout = out.add_stream_from_template(ain) if ain is not None else None

                def mux_audio_until(t: float | None) -> None:
                    nonlocal pending
                    while True:
                        if pending is None:
                            pending = next(audio, None)
                            if pending is None:
                                return
                            if pending.dts is None:
                                pending = None
                                continue
                        if t is not None and float(pending.pts * pending.time_base) > t:
                            return
                        pending.stream = aout
                        out.mux(pending)
                        report.audio_packets += 1
                        pending = None

                def mux_video(pkts) -> None:
                    for pkt in pkts:
                        if aout is not None and pkt.pts is not None:
                            mux_audio_until(float(pkt.pts * pkt.time_base))
                        out.mux(pkt)

                last = None
                for part in parts:
                    with av.open(str(part)) as seg:
                        first = True
                        for frame in seg.decode(video=0):
                            if first and last is not None:
                                rgb = frame_to_tensor(frame)
                                report.td_output.append(temporal_difference(last, rgb))
                            first = False
                            # as a one-machine run gives it: no frame type, the source's clock
                            frame.pict_type = av.video.frame.PictureType.NONE
                            frame.pts, frame.time_base = pts[report.frames], vin.time_base
                            mux_video(vout.encode(frame))
                            report.frames += 1
                        if report.frames:
                            last = frame_to_tensor(frame)
                mux_video(vout.encode())
                if aout is not None:
                    mux_audio_until(None)
    finally:
        container.close()
    return report


def stylize_video_segments(src: str | os.PathLike, dst: str | os.PathLike,
                           make_frames: Callable[[], FrameStylizer], video: VideoSettings,
                           *, segments: int, warmup: int = DEFAULT_WARMUP,
                           overwrite: bool = False,
                           run: Callable[[Callable, Sequence], list] | None = None
                           ) -> tuple[VideoReport, list[dict[str, Any]]]:
    """Stylize ``src`` into ``dst`` as ``segments`` independent jobs, then join them.

    Args:
        make_frames: builds a fresh :class:`FrameStylizer` (in the worker that runs a segment).
        run: ``run(fn, items) -> [fn(item) for item in items]``, in any order or place (the
            Ray engine passes its own); default: one after another, here.

    Returns:
        The joined video's report (frames, audio packets, border temporal differences) and
        one dict per segment (frames, temporal differences, seconds, worker).
    """
    dst = Path(dst)
    if dst.suffix.lower() not in CONTAINERS:
        raise SettingsError(f"{dst}: unsupported output type {dst.suffix!r}; use "
                            f"{', '.join(CONTAINERS)}")
    if video.max_frames:
        raise SettingsError("--max-frames previews one machine's run; leave it out with "
                            "--segments")
    check_codec(video.codec or CONTAINERS[dst.suffix.lower()][1])
    if dst.exists() and not overwrite:  # before any work, not at the join
        from depthstyle.errors import OutputExistsError

        raise OutputExistsError(f"{dst}: exists (use --overwrite / overwrite=True to replace it)")
    started = time.perf_counter()
    plan, pts = plan_segments(src, segments, warmup)
    dst.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dst.name}.segments-", dir=dst.parent))
    try:
        items = [(str(src), seg, str(work / f"{seg.index:05d}.mkv"), make_frames, video)
                 for seg in plan]
        results = (run or _run_here)(_segment_job, items)
        report = join_segments(src, [it[2] for it in items], pts, dst, video,
                               overwrite=overwrite)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    border_td = list(report.td_output)
    report.td_output = []
    for r in results:
        report.td_input += r["td_input"]
        report.td_output += r["td_output"]
        report.td_proximity += r["td_proximity"]
        report.td_strength += r["td_strength"]
        report.skipped_packets += r["skipped_packets"]
    report.td_output += border_td
    report.seconds = time.perf_counter() - started
    for r in results:
        r["border_td_output"] = None
    for r, td in zip(results[1:], border_td, strict=False):
        r["border_td_output"] = td
    return report, results


def _segment_job(item) -> dict[str, Any]:
    src, seg, dst, make_frames, video = item
    from depthstyle.batch import worker_name

    result = render_segment(src, seg, dst, make_frames(), video)
    result.update(index=seg.index, start=seg.start, end=seg.end, worker=worker_name())
    return result


def frame_factory(spec, style, settings, video: VideoSettings) -> Callable[[], FrameStylizer]:
    """A picklable maker of a fresh :class:`FrameStylizer`.

    Each call loads the model from a :class:`~depthstyle.batch.StylizerSpec`, so it works in a
    worker on another machine.
    """
    import functools

    return functools.partial(_build_frames, spec, style, settings, video)


def _build_frames(spec, style, settings, video) -> FrameStylizer:
    stylizer = spec.build()
    return FrameStylizer(stylizer, style, settings, video, stylizer.depth)


def _run_here(fn, items):
    return [fn(it) for it in items]
