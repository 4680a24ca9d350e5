import json

import numpy as np
import pytest
import torch

av = pytest.importorskip("av")

from conftest import make_image  # noqa: E402
from depthstyle.cli import main  # noqa: E402
from depthstyle.errors import DepthStyleError, OutputExistsError  # noqa: E402
from depthstyle.evaluation.flicker import flicker_ratio  # noqa: E402
from depthstyle.pipeline import StyleSettings, Stylizer  # noqa: E402
from depthstyle.video import (  # noqa: E402
    VideoSettings,
    blend_previous,
    smooth_map,
    stylize_video,
)


def make_clip(path, frames=16, fps=8, size=(64, 48), audio=True, noise=0.03, seed=0):
    """A static scene with per-frame noise (and a sine tone), written with PyAV."""
    rng = np.random.default_rng(seed)
    base = (make_image(size[1], size[0], 3)[0].permute(1, 2, 0).numpy() * 255)
    out = av.open(str(path), "w")
    vs = out.add_stream("libx264", rate=fps)
    vs.width, vs.height, vs.pix_fmt = size[0], size[1], "yuv420p"
    vs.options = {"crf": "10"}
    as_ = out.add_stream("aac", rate=16000) if audio else None
    if as_ is not None:
        as_.layout = "mono"
    for i in range(frames):
        img = np.clip(base + rng.normal(0, noise * 255, base.shape), 0, 255).astype(np.uint8)
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts = i
        for p in vs.encode(frame):
            out.mux(p)
    if as_ is not None:
        t = np.arange(int(16000 * frames / fps)) / 16000
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for k in range(0, len(tone), 1024):
            chunk = tone[k: k + 1024]
            if len(chunk) < 1024:
                chunk = np.pad(chunk, (0, 1024 - len(chunk)))
            af = av.AudioFrame.from_ndarray(chunk[None], format="fltp", layout="mono")
            af.sample_rate, af.pts = 16000, k
            for p in as_.encode(af):
                out.mux(p)
        for p in as_.encode():
            out.mux(p)
    for p in vs.encode():
        out.mux(p)
    out.close()
    return path


def probe(path):
    c = av.open(str(path))
    v = c.streams.video[0]
    info = {"fps": float(v.average_rate), "audio": [s.codec_context.name for s in c.streams.audio]}
    frames = list(c.decode(v))
    info["frames"] = len(frames)
    info["duration"] = float(frames[-1].time) if frames else 0.0
    info["size"] = (frames[0].width, frames[0].height)
    c.close()
    return info


def test_temporal_ops():
    a, b = torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4)
    assert torch.allclose(smooth_map(a, b, 0.75), torch.full_like(b, 0.25))
    assert smooth_map(None, b, 0.5) is b
    frame = torch.rand(1, 3, 8, 8)
    prev_out, styl = torch.zeros(1, 3, 8, 8), torch.ones(1, 3, 8, 8)
    static = blend_previous(styl, prev_out, frame, frame.clone(), 0.5)
    assert torch.allclose(static, torch.full_like(styl, 0.5))  # unchanged input: blended
    moved = blend_previous(styl, prev_out, frame, 1 - frame, 0.5, tau=0.001)
    assert float(moved.mean()) > 0.99  # changed input: no ghosting
    with pytest.raises(ValueError):
        smooth_map(a, b, 1.0)


def test_video_keeps_frames_fps_duration_and_audio(tmp_path, tiny_model, image_files):
    _, style = image_files
    src = make_clip(tmp_path / "in.mp4")
    dst = tmp_path / "out.mp4"
    report = stylize_video(src, dst, Stylizer(tiny_model), style, progress=False)
    a, b = probe(src), probe(dst)
    assert b["frames"] == a["frames"] == 16 == report.frames
    assert b["fps"] == pytest.approx(a["fps"])
    assert b["duration"] == pytest.approx(a["duration"], abs=1e-3)
    assert b["audio"] == a["audio"] == ["aac"] and report.audio_packets > 0
    assert b["size"] == a["size"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_smoothing_lowers_flicker(tmp_path, pointwise_model, image_files):
    _, style = image_files
    src = make_clip(tmp_path / "static.mp4", frames=12, audio=False, noise=0.05)
    with torch.no_grad():  # a decoder sensitive enough for frame noise to show after encoding
        pointwise_model.decoder.conv.weight.mul_(8)
    s = Stylizer(pointwise_model)
    raw = stylize_video(src, tmp_path / "raw.mp4", s, style,
                        video=VideoSettings(depth_momentum=0, output_smoothing=0),
                        progress=False)
    # noise of 0.05 is well above the default change threshold (0.02): the default would take
    # it for motion, so this static, very noisy clip is smoothed with a looser one
    smooth = stylize_video(src, tmp_path / "smooth.mp4", s, style,
                           video=VideoSettings(output_smoothing=0.7, change_tau=0.1),
                           progress=False)
    assert smooth.summary()["flicker_ratio"] < 0.8 * raw.summary()["flicker_ratio"]
    measured_raw = flicker_ratio(src, tmp_path / "raw.mp4")["flicker_ratio"]
    measured_smooth = flicker_ratio(src, tmp_path / "smooth.mp4")["flicker_ratio"]
    assert measured_smooth < measured_raw


def test_depth_maps_are_smoothed(tmp_path, tiny_model, image_files):
    _, style = image_files
    src = make_clip(tmp_path / "in.mp4", frames=8, audio=False, noise=0.1)

    class NoisyDepth:  # proximity that jitters from frame to frame
        def __init__(self):
            self.g = torch.Generator().manual_seed(0)

        def __call__(self, img):
            b, _, h, w = img.shape
            ramp = torch.linspace(0, 1, w).view(1, 1, 1, w).expand(b, 1, h, w)
            return (ramp + 0.2 * torch.rand(b, 1, h, w, generator=self.g)).clamp(0, 1)

    settings = StyleSettings(depth_aware=True)
    off = stylize_video(src, tmp_path / "a.mp4", Stylizer(tiny_model), style, settings,
                        VideoSettings(depth_momentum=0, output_smoothing=0), depth=NoisyDepth(),
                        progress=False).summary()
    on = stylize_video(src, tmp_path / "b.mp4", Stylizer(tiny_model), style, settings,
                       VideoSettings(depth_momentum=0.8, output_smoothing=0),
                       depth=NoisyDepth(), progress=False).summary()
    assert on["td_proximity"] < 0.5 * off["td_proximity"]
    assert on["td_strength"] < off["td_strength"]


def test_interrupted_run_leaves_no_output(tmp_path, tiny_model, image_files):
    _, style = image_files
    src = make_clip(tmp_path / "in.mp4", frames=10, audio=False)
    dst = tmp_path / "out.mp4"

    def boom(n):
        if n == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        stylize_video(src, dst, Stylizer(tiny_model), style, on_frame=boom, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["content.png", "in.mp4", "style.png"]


def test_bad_inputs(tmp_path, tiny_model, image_files):
    content, style = image_files
    s = Stylizer(tiny_model)
    with pytest.raises(DepthStyleError, match="no such file"):
        stylize_video(tmp_path / "none.mp4", tmp_path / "o.mp4", s, style, progress=False)
    (tmp_path / "junk.mp4").write_bytes(b"\x00" * 100)
    with pytest.raises(DepthStyleError, match="not a readable video"):
        stylize_video(tmp_path / "junk.mp4", tmp_path / "o.mp4", s, style, progress=False)
    audio_only = tmp_path / "tone.m4a"
    out = av.open(str(audio_only), "w")
    a = out.add_stream("aac", rate=16000)
    a.layout = "mono"
    frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp",
                                       layout="mono")
    frame.sample_rate, frame.pts = 16000, 0
    for p in list(a.encode(frame)) + list(a.encode()):
        out.mux(p)
    out.close()
    with pytest.raises(DepthStyleError, match="no video stream"):
        stylize_video(audio_only, tmp_path / "o2.mp4", s, style, progress=False)
    src = make_clip(tmp_path / "in.mp4", frames=4, audio=False)
    (tmp_path / "exists.mp4").write_bytes(b"keep")
    with pytest.raises(OutputExistsError):
        stylize_video(src, tmp_path / "exists.mp4", s, style, progress=False)
    assert (tmp_path / "exists.mp4").read_bytes() == b"keep"
    assert not (tmp_path / "o.mp4").exists() and not (tmp_path / "o2.mp4").exists()


def test_corrupt_packets_are_skipped(tmp_path, tiny_model, image_files, monkeypatch):
    """A packet the decoder refuses is skipped and counted; every other frame is written.

    (Zeroing bytes in a file rarely makes FFmpeg *refuse* a packet, it decodes garbage instead,
    so the refusal is injected: the 6th video packet's decode raises FFmpeg's own error.)
    """
    import depthstyle.video.stylize as vs

    _, style = image_files
    src = make_clip(tmp_path / "in.mp4", frames=24, audio=False, size=(96, 64))
    real_open = vs.open_video

    class Refused:
        def __init__(self, packet):
            self.stream, self.dts = packet.stream, packet.dts

        def decode(self):
            raise av.error.InvalidDataError(1094995529, "Invalid data found when processing")

    class Container:  # the real one, with one refused packet in its stream
        def __init__(self, real):
            self.real = real

        def demux(self, *streams):
            for i, packet in enumerate(self.real.demux(*streams)):
                yield Refused(packet) if i == 5 else packet

        def __getattr__(self, name):
            return getattr(self.real, name)

    def open_with_a_bad_packet(path):
        container, vin, ain = real_open(path)
        return Container(container), vin, ain

    monkeypatch.setattr(vs, "open_video", open_with_a_bad_packet)
    report = stylize_video(src, tmp_path / "out.mp4", Stylizer(tiny_model), style,
                           progress=False)
    assert report.skipped_packets == 1 and report.frames == 23
    with av.open(str(tmp_path / "out.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 23


def test_video_cli_and_eval_flicker(tmp_path, tiny_decoder_file, image_files, capsys):
    _, style = image_files
    src = make_clip(tmp_path / "in.mp4", frames=6)
    out, stats = tmp_path / "o.mp4", tmp_path / "stats.json"
    assert main(["video", str(src), "-s", str(style), "-o", str(out), "--model",
                 str(tiny_decoder_file), "--stats", str(stats), "-q"]) == 0
    assert json.loads(stats.read_text())["frames"] == 6
    assert main(["video", str(src), "-s", str(style), "-o", str(out), "--model",
                 str(tiny_decoder_file), "-q"]) == 1  # exists
    capsys.readouterr()
    assert main(["eval", "--video", str(src), str(out)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["frames_original"] == rows[0]["frames_stylized"] == 6
    assert rows[0]["td_original"] > 0 and rows[0]["flicker_ratio"] is not None


def test_shared_clip_short(shared, tmp_path, tiny_model, image_files):
    _, style = image_files
    src = shared / "video" / "cutBunny.mp4"
    dst = tmp_path / "bunny.mp4"
    report = stylize_video(src, dst, Stylizer(tiny_model), style,
                           video=VideoSettings(size=128, max_frames=6), progress=False)
    info = probe(dst)
    assert info["frames"] == report.frames == 6
    assert info["fps"] == pytest.approx(24.0)
    assert info["audio"] == ["aac"] and max(info["size"]) == 128


def _noisy_ramp(seed=0):
    g = torch.Generator().manual_seed(seed)

    def depth(img):
        b, _, h, w = img.shape
        ramp = torch.linspace(0, 1, w).view(1, 1, 1, w).expand(b, 1, h, w)
        return (ramp + 0.3 * torch.rand(b, 1, h, w, generator=g)).clamp(0, 1)
    return depth


def test_frames_are_rendered_with_the_smoothed_strength(tiny_model):
    """Each output frame is the pipeline's image for the *smoothed* strength the state holds."""
    from depthstyle.video import FrameStylizer
    from depthstyle.video.stylize import VideoReport

    s = Stylizer(tiny_model)
    style = make_image(48, 48, 2)
    settings = StyleSettings(content_size=None)
    frames = FrameStylizer(s, style, settings, VideoSettings(depth_momentum=0.8,
                                                             output_smoothing=0), _noisy_ramp())
    report = VideoReport()
    raw_depth = _noisy_ramp(1)
    for i in range(3):
        img = make_image(48, 64, 10 + i)
        out = frames(img, report)
        want = s(img, style, settings, strength=frames.strength_s).image
        torch.testing.assert_close(out, want)
        unsmoothed = s(img, style, settings, depth=raw_depth(img)).image
        if i:
            assert float((out - unsmoothed).abs().max()) > 1e-4
    assert len(report.td_strength) == 2


def test_learned_strength_works_in_video(tmp_path, lite0, image_files):
    from depthstyle.models import StyleModel, build_decoder
    from depthstyle.models.strength_net import StrengthNet

    torch.manual_seed(0)
    net = StrengthNet(3, groups=4, init_levels=(2,))
    with torch.no_grad():
        net.mlp[2].bias.normal_(0, 2)  # a module that moved away from the hand-set maps
    model = StyleModel(lite0, build_decoder(lite0, (8, 8, 8, 8)).eval(), "t", decode_level=2,
                       strength_net=net.eval())
    _, style = image_files
    src = make_clip(tmp_path / "in.mp4", frames=4, audio=False)
    learned = StyleSettings(learned_strength=True)
    rep = stylize_video(src, tmp_path / "l.mp4", Stylizer(model), style, learned,
                        VideoSettings(depth_momentum=0.5), depth=_noisy_ramp(), progress=False)
    assert rep.frames == 4 and len(rep.td_strength) == 3
    hand = stylize_video(src, tmp_path / "h.mp4", Stylizer(model), style, StyleSettings(),
                         VideoSettings(depth_momentum=0.5), depth=_noisy_ramp(),
                         progress=False)
    a = av.open(str(tmp_path / "l.mp4"))
    b = av.open(str(tmp_path / "h.mp4"))
    fa = next(a.decode(video=0)).to_ndarray(format="rgb24").astype(float)
    fb = next(b.decode(video=0)).to_ndarray(format="rgb24").astype(float)
    a.close()
    b.close()
    assert hand.frames == 4 and np.abs(fa - fb).mean() > 0.5


def test_unknown_codec_is_refused_before_any_work(tmp_path, tiny_decoder_file, image_files,
                                                  capsys):
    _, style = image_files
    src = make_clip(tmp_path / "in.mp4", frames=3, audio=False)
    out = tmp_path / "o.mp4"
    assert main(["video", str(src), "-s", str(style), "-o", str(out), "--model",
                 str(tiny_decoder_file), "--codec", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown video encoder 'nope'" in err and "Traceback" not in err
    assert not out.exists()


def test_demuxer_errors_become_one_clear_error(tmp_path, tiny_model, image_files, monkeypatch):
    """An error raised by FFmpeg itself while demuxing (not a bad packet) is reported with the
    input's name, and no output is left."""
    import depthstyle.video.stylize as vs

    _, style = image_files
    src = make_clip(tmp_path / "in.mp4", frames=4, audio=False)

    def broken(*args, **kwargs):
        raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")

    monkeypatch.setattr(vs, "_process", broken)
    with pytest.raises(DepthStyleError, match="in.mp4: video could not be processed"):
        stylize_video(src, tmp_path / "o.mp4", Stylizer(tiny_model), style, progress=False)
    assert not (tmp_path / "o.mp4").exists()


def test_the_clip_says_where_its_depth_came_from(tmp_path, tiny_decoder_file, image_files,
                                                 capfd):
    _, style = image_files
    src = make_clip(tmp_path / "in.mp4", frames=3, audio=False)
    assert main(["video", str(src), "-s", str(style), "-o", str(tmp_path / "o.mp4"),
                 "--model", str(tiny_decoder_file), "--depth", "none"]) == 0
    assert "in.mp4: depth off: uniform strength" in capfd.readouterr().err


def test_change_tau_is_checked_and_reaches_the_smoothing(tmp_path, tiny_decoder_file,
                                                         image_files, monkeypatch):
    from depthstyle.errors import SettingsError
    from depthstyle.video import stylize as vs

    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(SettingsError, match="change tau"):
            VideoSettings(change_tau=bad).validate()
    assert VideoSettings().change_tau == 0.02 and VideoSettings().output_smoothing == 0.7
    taus = []
    real = vs.blend_previous
    monkeypatch.setattr(vs, "blend_previous",
                        lambda *a, **k: taus.append(a[-1]) or real(*a, **k))
    _, style = image_files
    src = make_clip(tmp_path / "in.mp4", frames=3, audio=False)
    assert main(["video", str(src), "-s", str(style), "-o", str(tmp_path / "o.mp4"), "--model",
                 str(tiny_decoder_file), "--change-tau", "0.1", "-q"]) == 0
    assert taus == [0.1, 0.1, 0.1]
    assert main(["video", str(src), "-s", str(style), "-o", str(tmp_path / "p.mp4"), "--model",
                 str(tiny_decoder_file), "--change-tau", "0", "-q"]) == 2  # a usage error


def test_iter_frames_reads_in_order_stops_at_the_limit_and_closes(tmp_path):
    from depthstyle.video.stylize import iter_frames

    src = make_clip(tmp_path / "in.mp4", frames=5, audio=False, noise=0.0)
    frames = list(iter_frames(src))
    assert len(frames) == 5 and frames[0].shape == (1, 3, 48, 64)
    assert float(frames[0].min()) >= 0 and float(frames[0].max()) <= 1
    assert len(list(iter_frames(src, max_frames=3))) == 3
    assert flicker_ratio(src, src, max_frames=2)["frames_original"] == 2
    with pytest.raises(DepthStyleError, match="no such file"):
        next(iter_frames(tmp_path / "none.mp4"))
