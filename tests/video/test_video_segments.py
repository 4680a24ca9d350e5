"""Segment-parallel video: the joined clip equals the one-machine clip, frame for frame; without
the warm-up the seams show; ``--engine ray`` on a real local cluster gives the same clip."""

import os

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # a local cluster on 127.0.0.1

import numpy as np  # noqa: E402
import pytest  # noqa: E402

av = pytest.importorskip("av")

from depthstyle.cli import main  # noqa: E402
from depthstyle.pipeline import StyleSettings, Stylizer  # noqa: E402
from depthstyle.video import VideoSettings, stylize_video  # noqa: E402
from depthstyle.video.segments import plan_segments, stylize_video_segments  # noqa: E402
from depthstyle.video.stylize import FrameStylizer  # noqa: E402


def brightness_depth(img):
    """Proximity from brightness: changes with the scene, so its smoothing state matters."""
    return img.mean(1, keepdim=True)


def frames_of(path):
    with av.open(str(path)) as c:
        video = [f.to_ndarray(format="rgb24").astype(np.int16) for f in c.decode(video=0)]
    with av.open(str(path)) as c:
        audio = sum(1 for p in c.demux(audio=0) if p.size) if c.streams.audio else 0
    return video, audio


@pytest.fixture()
def bunny(shared):
    return shared / "video" / "cutBunny.mp4"


def _runs(bunny, tmp_path, tiny_model, style, warmup, crf=20):
    # texture_match=0: the tiny random decoder's output is nearly flat, so the texture step's
    # histogram map is steep there and turns float-level differences of the smoothing state
    # into visible ones (with the bundled model it does not: test_pipeline's stability test)
    settings = StyleSettings(depth_aware=True, texture_match=0)
    video = VideoSettings(size=64, crf=crf)
    st = Stylizer(tiny_model)
    stylize_video(bunny, tmp_path / "one.mp4", st, style, settings, video,
                  depth=brightness_depth, progress=False)
    report, parts = stylize_video_segments(
        bunny, tmp_path / "split.mp4",
        lambda: FrameStylizer(st, style, settings, video, brightness_depth), video,
        segments=3, warmup=warmup)
    return report, parts


def test_segments_joined_equal_the_one_machine_clip(bunny, tmp_path, tiny_model, image_files):
    segs, pts = plan_segments(bunny, 3, warmup=48)
    assert [(s.start, s.end, s.warm_index) for s in segs] == [(0, 80, 0), (80, 160, 32),
                                                              (160, 240, 112)]
    assert len(pts) == 240 and pts == sorted(pts)
    # lossless (crf 0): the frames compared are the stylization's, not an encoder's drift along
    # a chain of predicted frames, where one flipped rounding at a cut spreads
    report, parts = _runs(bunny, tmp_path, tiny_model, image_files[1], warmup=48, crf=0)
    one, audio_one = frames_of(tmp_path / "one.mp4")
    split, audio_split = frames_of(tmp_path / "split.mp4")
    assert len(one) == len(split) == 240 == report.frames
    assert audio_one == audio_split == report.audio_packets > 0  # the audio is all there
    # no seam at all: after 48 warm-up frames the state is the one-machine state to float32
    # resolution (0.7^48 = 4e-8 of the first difference; 24 frames left 25 pixels off by up to 3
    # levels at the cuts)
    worst = max(int(np.abs(a - b).max()) for a, b in zip(one, split, strict=True))
    assert worst == 0
    assert [p["frames"] for p in parts] == [80, 80, 80]
    assert parts[0]["border_td_output"] is None and parts[1]["border_td_output"] > 0


def test_without_the_warm_up_the_cuts_show(bunny, tmp_path, tiny_model, image_files):
    # lossless encoding (crf 0), so frame differences are the stylization's, not the encoder
    # drifting along a chain of predicted frames
    _runs(bunny, tmp_path, tiny_model, image_files[1], warmup=0, crf=0)
    one, _ = frames_of(tmp_path / "one.mp4")
    split, _ = frames_of(tmp_path / "split.mp4")
    diff = [float(np.abs(a - b).mean()) for a, b in zip(one, split, strict=True)]
    assert max(diff[:80]) == 0  # the first segment starts where the clip starts
    assert diff[80] > 0.2 and diff[160] > 0.2  # a fresh state at each cut
    assert diff[80 + 30] < diff[80] / 4  # and the difference fades as the state catches up


def test_video_engine_ray_gives_the_local_clip(bunny, tmp_path, tiny_decoder_file,
                                               image_files):
    ray = pytest.importorskip("ray")
    # --texture-match 0: see _runs (the workers' other thread counts give float differences)
    common = ["video", str(bunny), "-s", str(image_files[1]), "--size", "64", "--model",
              str(tiny_decoder_file), "--depth", "none", "-q", "--texture-match", "0"]
    assert main([*common, "-o", str(tmp_path / "local.mp4")]) == 0
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        assert main([*common, "-o", str(tmp_path / "ray.mp4"), "--engine", "ray",
                     "--segments", "2"]) == 0
    finally:
        ray.shutdown()
    local, audio_local = frames_of(tmp_path / "local.mp4")
    on_ray, audio_ray = frames_of(tmp_path / "ray.mp4")
    assert len(local) == len(on_ray) == 240 and audio_local == audio_ray
    assert max(int(np.abs(a - b).max()) for a, b in zip(local, on_ray, strict=True)) <= 1
    assert not list(tmp_path.glob(".ray.mp4.segments-*"))  # the parts were cleaned up
    assert main([*common, "-o", str(tmp_path / "x.mp4"), "--segments", "2"]) == 2
