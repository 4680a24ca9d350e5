import numpy as np
import pytest
import torch
from PIL import Image

from conftest import make_image
from depthstyle.cli import main
from depthstyle.io import load_image, save_image


def run(args):
    return main([str(a) for a in args])


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["stylize", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "--depth" in out and "--offset" in out


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "stylize" in capsys.readouterr().out


def test_stylize_single_file_with_maps(tmp_path, image_files, tiny_decoder_file, capsys):
    content, style = image_files
    np.save(tmp_path / "d.npy", np.tile(np.linspace(1, 5, 96, dtype=np.float32), (64, 1)))
    out = tmp_path / "out" / "o.png"
    code = run(["stylize", content, "-s", style, "-o", out, "--model", tiny_decoder_file,
                "--depth", tmp_path / "d.npy", "--save-maps", "--content-size", "96"])
    assert code == 0
    assert load_image(out).shape == (1, 3, 64, 96)
    strength = load_image(out.with_name("o.strength.png"))[0, 0]
    assert strength[:, 0].mean() < strength[:, -1].mean()  # near (left) less stylized
    assert capsys.readouterr().out.strip() == str(out)


def test_existing_output_is_not_overwritten(tmp_path, image_files, tiny_decoder_file, capsys):
    content, style = image_files
    out = tmp_path / "o.png"
    out.write_bytes(b"keep me")
    args = ["stylize", content, "-s", style, "-o", out, "--model", tiny_decoder_file]
    assert run(args) == 1
    assert out.read_bytes() == b"keep me"
    assert "--overwrite" in capsys.readouterr().err
    assert run(args + ["--overwrite"]) == 0
    assert out.read_bytes() != b"keep me"


def test_batch_with_a_bad_file_keeps_the_others(tmp_path, tiny_decoder_file, capsys):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        save_image(make_image(48, 48, i), src / f"c{i}.png")
    (src / "c1b.jpg").write_bytes(b"\xff\xd8\xff garbage")
    style = save_image(make_image(48, 48, 9), tmp_path / "s.png")
    out = tmp_path / "out"
    code = run(["stylize", src, "-s", style, "-o", out, "--model", tiny_decoder_file])
    assert code == 1
    written = sorted(p.name for p in out.iterdir())
    assert written == ["c0_s.png", "c1_s.png", "c2_s.png"]
    err = capsys.readouterr().err
    assert "c1b.jpg" in err and "1 of 4 jobs failed; the other 3 outputs were written" in err
    assert "Traceback" not in err


def test_style_weights_and_masks(tmp_path, image_files, tiny_decoder_file):
    content, style = image_files
    style2 = save_image(make_image(40, 40, 5), tmp_path / "s2.png")
    mask = tmp_path / "m.png"
    Image.fromarray((np.arange(96)[None, :].repeat(64, 0) > 48).astype(np.uint8) * 255).save(mask)
    assert run(["stylize", content, "-s", style, "-s", style2, "--style-weights", "0.7,0.3",
                "-o", tmp_path / "mix.png", "--model", tiny_decoder_file]) == 0
    assert run(["stylize", content, "-s", style, "-s", style2, "--mask", mask,
                "-o", tmp_path / "mask.png", "--model", tiny_decoder_file]) == 0
    assert run(["stylize", content, "-s", style, "--style-weights", "1,2", "-o",
                tmp_path / "x.png", "--model", tiny_decoder_file]) == 2


def test_style_weights_and_masks_change_the_pixels_as_asked(tmp_path, image_files):
    """With the bundled model (which responds to its inputs): weights 1,0 give the first
    style's output, 0.5,0.5 something between the two; a mask gives each half its style."""
    content, _ = image_files
    a = save_image(make_image(48, 48, 11), tmp_path / "a.png")
    b = save_image(torch.flip(make_image(48, 48, 12), dims=[1]) * 0.3, tmp_path / "b.png")

    def out(name, *args):
        path = tmp_path / f"out_{name}.png"
        assert run(["stylize", content, *args, "-o", path, "--depth", "none",
                    "--content-size", "96"]) == 0
        return load_image(path)

    only_a, only_b = out("a", "-s", a), out("b", "-s", b)
    assert float((only_a - only_b).abs().mean()) > 0.05  # the two styles differ clearly
    first = out("w10", "-s", a, "-s", b, "--style-weights", "1,0")
    assert float((first - only_a).abs().max()) <= 2 / 255
    half = out("w55", "-s", a, "-s", b, "--style-weights", "0.5,0.5")
    d_a, d_b = float((half - only_a).abs().mean()), float((half - only_b).abs().mean())
    assert d_a > 0.01 and d_b > 0.01  # between the two, equal to neither
    mask = tmp_path / "m.png"
    Image.fromarray(((np.arange(96)[None, :] < 48).repeat(64, 0) * 255).astype(np.uint8)).save(
        mask)
    masked = out("mask", "-s", a, "-s", b, "--mask", mask)
    left, right = (slice(None), slice(8, 40)), (slice(None), slice(56, 88))
    for region, near, far in ((left, only_a, only_b), (right, only_b, only_a)):
        got = masked[..., region[0], region[1]]
        assert float((got - near[..., region[0], region[1]]).abs().mean()) < \
            0.5 * float((got - far[..., region[0], region[1]]).abs().mean())


def test_texture_match_option_reaches_the_pipeline(tmp_path, image_files, tiny_decoder_file):
    from depthstyle.pipeline import StyleSettings, Stylizer

    content, style = image_files
    got = {}
    for amount in ("0", "1"):
        out = tmp_path / f"t{amount}.png"
        assert run(["stylize", content, "-s", style, "-o", out, "--model", tiny_decoder_file,
                    "--depth", "none", "--texture-match", amount]) == 0
        got[amount] = load_image(out)
    st = Stylizer(tiny_decoder_file, depth=None)
    for amount in ("0", "1"):
        want = st(load_image(content), load_image(style),
                  StyleSettings(texture_match=float(amount), depth_aware=False)).image
        assert float((got[amount] - want).abs().max()) <= 1.5 / 255
    assert float((got["0"] - got["1"]).abs().mean()) > 2 / 255


@pytest.mark.parametrize("extra,code", [(["--alpha", "1.5"], 2), (["--contrast", "-1"], 2),
                                        (["--texture-match", "2"], 2),
                                        (["--levels", "9"], 2), (["--depth", "missing.png"], 1),
                                        (["--model", "nope"], 1)])
def test_bad_options_exit_codes(image_files, tmp_path, tiny_decoder_file, extra, code, capsys):
    content, style = image_files
    args = ["stylize", content, "-s", style, "-o", tmp_path / "o.png"]
    if "--model" not in extra:
        args += ["--model", tiny_decoder_file]
    if extra[0] in ("--alpha", "--contrast", "--texture-match"):  # rejected by argparse itself
        with pytest.raises(SystemExit) as exc:
            run(args + extra)
        assert exc.value.code == code
    else:
        assert run(args + extra) == code
    assert not (tmp_path / "o.png").exists()
    assert "Traceback" not in capsys.readouterr().err


def test_missing_content_file_is_reported(tmp_path, image_files, tiny_decoder_file, capsys):
    _, style = image_files
    code = run(["stylize", tmp_path / "nope.jpg", "-s", style, "-o", tmp_path / "o.png",
                "--model", tiny_decoder_file])
    assert code == 1
    assert "nope.jpg: no such file" in capsys.readouterr().err


def test_alpha_mode_keep(tmp_path, tiny_decoder_file, image_files):
    _, style = image_files
    arr = np.zeros((32, 32, 4), dtype=np.uint8)
    arr[..., :3] = 120
    arr[:, :16, 3] = 255
    Image.fromarray(arr, "RGBA").save(tmp_path / "rgba.png")
    out = tmp_path / "o.png"
    assert run(["stylize", tmp_path / "rgba.png", "-s", style, "-o", out, "--model",
                tiny_decoder_file, "--alpha-mode", "keep"]) == 0
    im = Image.open(out)
    assert im.mode == "RGBA"
    a = np.asarray(im)[..., 3]
    assert a[:, :14].min() == 255 and a[:, 18:].max() == 0


def test_info_and_weights_commands(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "torch" in out and "depthstyle-lite0" in out
    assert main(["weights", "list"]) == 0
    out = capsys.readouterr().out
    assert "vgg19-adain" in out and "not pinned" in out
    assert main(["weights", "path", "vgg19-adain"]) == 0
    assert main(["weights", "list", "nope"]) == 1


def test_depth_folder_matches_maps_by_name(tmp_path, tiny_decoder_file, capsys):
    src, maps = tmp_path / "in", tmp_path / "maps"
    src.mkdir()
    maps.mkdir()
    for i in range(2):
        save_image(make_image(48, 64, i), src / f"c{i}.png")
    ramp = np.tile(np.linspace(1, 5, 64, dtype=np.float32), (48, 1))
    np.save(maps / "c0.npy", ramp)
    np.save(maps / "c1.npy", ramp[:, ::-1].copy())
    style = save_image(make_image(48, 48, 9), tmp_path / "s.png")
    out = tmp_path / "out"
    assert run(["stylize", src, "-s", style, "-o", out, "--depth", maps, "--save-maps",
                "--model", tiny_decoder_file]) == 0
    s0 = load_image(out / "c0_s.strength.png")[0, 0]
    s1 = load_image(out / "c1_s.strength.png")[0, 0]
    assert s0[:, 0].mean() < s0[:, -1].mean() and s1[:, 0].mean() > s1[:, -1].mean()
    (maps / "c1.npy").unlink()
    assert run(["stylize", src, "-s", style, "-o", tmp_path / "out2", "--depth", maps,
                "--model", tiny_decoder_file]) == 1
    assert "no depth map named c1" in capsys.readouterr().err


# --- hardening: every output checked before any work, clear errors ---------------

def test_save_maps_is_all_or_nothing(tmp_path, image_files, tiny_decoder_file, capsys):
    content, style = image_files
    out = tmp_path / "o.png"
    (tmp_path / "o.strength.png").write_bytes(b"old map")
    args = ["stylize", content, "-s", style, "-o", out, "--model", tiny_decoder_file,
            "--save-maps"]
    assert run(args) == 1
    assert not out.exists() and not (tmp_path / "o.proximity.png").exists()  # nothing written
    assert "o.strength.png" in capsys.readouterr().err
    assert (tmp_path / "o.strength.png").read_bytes() == b"old map"


def test_output_under_a_file_names_the_output(tmp_path, image_files, tiny_decoder_file,
                                              capsys):
    content, style = image_files
    (tmp_path / "afile").write_bytes(b"x")
    assert run(["stylize", content, "-s", style, "-o", tmp_path / "afile" / "o.png",
                "--model", tiny_decoder_file]) == 1
    err = capsys.readouterr().err
    assert "afile/o.png: cannot create it" in err and "is a file, not a folder" in err


def test_same_names_in_a_batch_are_refused_up_front(tmp_path, tiny_decoder_file, capsys):
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        save_image(make_image(40, 40, 1), tmp_path / d / "photo.png")
    style = save_image(make_image(40, 40, 2), tmp_path / "s.png")
    out = tmp_path / "out"
    assert run(["stylize", tmp_path / "a", tmp_path / "b", "-s", style, "-o", out,
                "--model", tiny_decoder_file]) == 2  # a usage error, before any work
    err = capsys.readouterr().err
    assert "would both be written to" in err and "--overwrite" not in err
    assert not out.exists()


def test_a_single_failed_job_is_worded_as_such(tmp_path, tiny_decoder_file, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    style = save_image(make_image(40, 40, 2), tmp_path / "s.png")
    assert run(["stylize", bad, "-s", style, "-o", tmp_path / "o.png",
                "--model", tiny_decoder_file]) == 1
    err = capsys.readouterr().err
    assert "the job failed; nothing was written" in err and "other outputs" not in err


def test_batch_progress_is_logged_without_a_terminal(tmp_path, tiny_decoder_file, capfd):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(10):
        save_image(make_image(32, 32, i), src / f"c{i}.png")
    style = save_image(make_image(32, 32, 9), tmp_path / "s.png")
    assert run(["stylize", src, "-s", style, "-o", tmp_path / "out", "--model",
                tiny_decoder_file, "--depth", "none"]) == 0
    err = capfd.readouterr().err  # pytest's capture is not a terminal
    assert "1 of 10 done (10 %)" in err and "9 of 10 done (90 %)" in err


def test_every_option_has_help_text():
    import argparse

    from depthstyle.cli.main import build_parser

    missing = []

    def walk(parser, where):
        for a in parser._actions:
            if isinstance(a, argparse._SubParsersAction):
                for name, sub in a.choices.items():
                    walk(sub, f"{where} {name}")
            elif not isinstance(a, argparse._HelpAction) and not a.help:
                missing.append(f"{where}: {'/'.join(a.option_strings) or a.dest}")

    walk(build_parser(), "depthstyle")
    assert not missing, missing


def test_mask_with_another_aspect_ratio_is_refused_like_a_depth_map(tmp_path, image_files,
                                                                    tiny_decoder_file, capsys):
    content, style = image_files  # content is 96 x 64
    style2 = save_image(make_image(40, 40, 3), tmp_path / "s2.png")
    Image.fromarray(np.zeros((50, 50), np.uint8)).save(tmp_path / "m.png")
    assert run(["stylize", content, "-s", style, "-s", style2, "--mask", tmp_path / "m.png",
                "-o", tmp_path / "o.png", "--model", tiny_decoder_file]) == 1
    assert "mask aspect ratio 50x50 does not match the content" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


def test_single_output_commands_share_the_output_checks(tmp_path, capsys):
    """video and optimize check their one output like stylize checks a batch's."""
    from depthstyle.cli.common import check_output
    from depthstyle.errors import DepthStyleError

    (tmp_path / "afile").write_bytes(b"x")
    with pytest.raises(DepthStyleError, match="afile is a file, not a folder"):
        check_output(tmp_path / "afile" / "clip.mp4", overwrite=True)
    (tmp_path / "o.mp4").write_bytes(b"x")
    with pytest.raises(DepthStyleError, match=r"o\.mp4: exists; add --overwrite"):
        check_output(tmp_path / "o.mp4", overwrite=False)
    assert check_output(tmp_path / "o.mp4", overwrite=True) == tmp_path / "o.mp4"


def test_bad_outputs_levels_and_clips_fail_before_any_work(tmp_path, image_files, capfd,
                                                           tiny_decoder_file):
    content, style = image_files
    common = [str(content), "-s", str(style), "--model", str(tiny_decoder_file)]
    # the output's format is checked before the depth source is asked (no depth line yet)
    assert main(["stylize", *common, "-o", str(tmp_path / "o.xyz")]) == 2
    err = capfd.readouterr().err
    assert "o.xyz: unknown output format '.xyz'" in err and "INFO" not in err
    assert not list(tmp_path.glob("o.*"))
    assert main(["stylize", *common, "-o", str(tmp_path / "o.png"), "--levels", "1,1,1,1,1"]) \
        == 2
    assert "is given more than once" in capfd.readouterr().err
    # a missing clip is named before the depth model is looked for
    assert main(["video", str(tmp_path / "nosuch.mp4"), "-s", str(style), "-o",
                 str(tmp_path / "o.mp4")]) != 0
    err = capfd.readouterr().err
    assert "nosuch.mp4: no such file" in err and "depth model" not in err
