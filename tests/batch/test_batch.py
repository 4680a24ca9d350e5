"""Dataset runs without Ray: planning (mirrored folders, the style draw), the manifest, resume."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import make_image
from depthstyle.batch import JobOptions, Manifest, run_job, split_done
from depthstyle.cli import main
from depthstyle.errors import SettingsError
from depthstyle.io import save_image
from depthstyle.jobs import Job, draw_styles, expand_tree, plan_outputs
from depthstyle.settings import StyleSettings


def _tree(root: Path, names: list[str]) -> None:
    for i, name in enumerate(names):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        save_image(make_image(40, 56, i), root / name)


def test_a_folder_tree_is_mirrored_and_hidden_files_are_left_out(tmp_path):
    _tree(tmp_path / "in", ["cat/a.png", "cat/b.png", "dog/x/c.png", "top.png", ".hid/d.png",
                            "cat/.e.png", "cat/a.disparity.png", "top.depth.tif",
                            "dog/lone.depth.png"])
    flat = expand_tree([str(tmp_path / "in")])
    assert [str(p) for _, p in flat] == ["top.png"]
    tree = expand_tree([str(tmp_path / "in")], recursive=True)
    # maps beside photos are depth, not contents; a map without its photo is an image
    assert [p.as_posix() for _, p in tree] == ["cat/a.png", "cat/b.png", "dog/lone.depth.png",
                                               "dog/x/c.png", "top.png"]
    tree = [t for t in tree if "lone" not in t[1].name]
    jobs = plan_outputs([f for f, _ in tree], [Path("s1.jpg"), Path("s2.jpg")],
                        tmp_path / "out", "png", False, places=[p for _, p in tree])
    rel = sorted(j.output.relative_to(tmp_path / "out").as_posix() for j in jobs)
    assert rel == ["cat/a_s1.png", "cat/a_s2.png", "cat/b_s1.png", "cat/b_s2.png",
                   "dog/x/c_s1.png", "dog/x/c_s2.png", "top_s1.png", "top_s2.png"]


def test_a_folder_without_images_at_its_top_suggests_recursive(tmp_path):
    _tree(tmp_path / "in", ["cat/a.png"])
    with pytest.raises(Exception, match="--recursive"):
        expand_tree([str(tmp_path / "in")])


def test_the_style_draw_is_reproducible_and_independent_of_the_other_contents():
    pool = [Path(f"s{i}.jpg") for i in range(10)]
    a = draw_styles(pool, 3, seed=7, key="cat/a.png")
    assert len(set(a)) == 3 and set(a) <= set(pool)
    assert draw_styles(list(reversed(pool)), 3, seed=7, key="cat/a.png") == a  # order-free
    assert draw_styles(pool, 3, seed=8, key="cat/a.png") != a or \
        draw_styles(pool, 3, seed=9, key="cat/a.png") != a
    # over many contents every style is drawn, roughly evenly
    counts = {s: 0 for s in pool}
    for i in range(1000):
        for s in draw_styles(pool, 2, seed=0, key=f"img{i}.png"):
            counts[s] += 1
    assert min(counts.values()) > 150 and max(counts.values()) < 250
    with pytest.raises(SettingsError, match="between 1 and 10"):
        draw_styles(pool, 11, seed=0, key="x")


def test_styles_per_image_plans_k_outputs_per_content(tmp_path):
    contents = [Path(f"c{i}.png") for i in range(5)]
    styles = [Path(f"s{i}.jpg") for i in range(4)]
    jobs = plan_outputs(contents, styles, tmp_path, "png", False, styles_per_image=2, seed=1)
    assert len(jobs) == 10
    for c in contents:
        mine = [j.styles[0] for j in jobs if j.content == c]
        assert len(mine) == 2 and len(set(mine)) == 2
    again = plan_outputs(contents[2:], styles, tmp_path, "png", False, styles_per_image=2,
                         seed=1)
    assert again == [j for j in jobs if j.content in contents[2:]]
    with pytest.raises(SettingsError, match="cannot be combined"):
        plan_outputs(contents, styles, tmp_path, "png", True, styles_per_image=2)


def test_manifest_lines_are_whole_and_a_torn_line_is_left_out(tmp_path):
    path = tmp_path / "m" / "manifest.jsonl"
    with Manifest(path, {"alpha": 0.5}) as m:
        m.append({"input": "a", "status": "ok"})
        m.append({"input": "b", "status": "failed", "error": "b: broken"})
    with open(path, "a") as f:
        f.write('{"input": "c", "sta')  # a run killed mid-write
    records = Manifest.read(path)
    assert [r["input"] for r in records] == ["a", "b"]
    assert records[1]["settings"] == {"alpha": 0.5} and records[1]["error"] == "b: broken"


def test_run_job_records_a_failure_instead_of_raising(tmp_path, tiny_decoder_file):
    from depthstyle.batch import StylizerSpec

    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    style = save_image(make_image(32, 32, 3), tmp_path / "s.png")
    stylizer = StylizerSpec(model=str(tiny_decoder_file), depth="none").build()
    opts = JobOptions(settings=StyleSettings(content_size=32), resume=True)
    rec = run_job(stylizer, Job(bad, [style], tmp_path / "o" / "bad_s.png"), opts, "w1")
    assert rec["status"] == "failed" and str(bad) in rec["error"] and rec["worker"] == "w1"
    assert not (tmp_path / "o" / "bad_s.png").exists()
    good = save_image(make_image(32, 48, 4), tmp_path / "good.png")
    job = Job(good, [style], tmp_path / "o" / "good_s.png")
    assert run_job(stylizer, job, opts)["status"] == "ok"
    todo, skipped = split_done([job], opts)
    assert todo == [] and skipped[0]["status"] == "skipped"
    assert split_done([job], JobOptions(settings=opts.settings))[0] == [job]  # not resuming


def test_local_resume_skips_done_outputs_and_records_every_job(tmp_path, tiny_decoder_file,
                                                              capsys):
    _tree(tmp_path / "in", ["cat/a.png", "cat/b.png", "dog/c.png"])
    (tmp_path / "in" / "dog" / "broken.png").write_bytes(b"not an image")
    style = save_image(make_image(32, 32, 9), tmp_path / "style.png")
    out = tmp_path / "out"
    args = ["stylize", str(tmp_path / "in"), "-r", "-s", str(style), "-o", str(out),
            "--model", str(tiny_decoder_file), "--depth", "none", "--content-size", "32",
            "--resume"]
    assert main(args) == 1  # the broken file fails; the others are written
    first = Manifest.read(out / "manifest.jsonl")
    assert {r["status"] for r in first} == {"ok", "failed"}
    failed = [r for r in first if r["status"] == "failed"]
    assert len(failed) == 1 and "broken.png" in failed[0]["error"]
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert written == ["cat/a_style.png", "cat/b_style.png", "dog/c_style.png"]
    pixels = np.asarray(Image.open(out / "cat" / "a_style.png"))
    (out / "cat" / "b_style.png").unlink()  # as if the run had stopped before it
    main(args)
    second = Manifest.read(out / "manifest.jsonl")[len(first):]
    status = {Path(r["output"]).name: r["status"] for r in second}
    assert status == {"a_style.png": "skipped", "b_style.png": "ok", "c_style.png": "skipped",
                      "broken_style.png": "failed"}
    np.testing.assert_array_equal(np.asarray(Image.open(out / "cat" / "a_style.png")), pixels)
    line = json.loads((out / "manifest.jsonl").read_text().splitlines()[0])
    assert set(line) >= {"input", "styles", "settings", "output", "status", "error",
                         "seconds", "worker"}
    assert line["settings"]["content_size"] == 32 and line["settings"]["depth"] == "none"


def test_resume_needs_an_output_folder(tmp_path, image_files, tiny_decoder_file, capsys):
    c, s = image_files
    assert main(["stylize", str(c), "-s", str(s), "-o", str(tmp_path / "one.png"), "--resume",
                 "--model", str(tiny_decoder_file), "--depth", "none"]) == 2
    assert "output folder" in capsys.readouterr().err


def test_ray_runs_check_the_settings_against_the_model_before_starting(
        tmp_path, image_files, tiny_decoder_file, capsys):
    c, s = image_files
    code = main(["stylize", str(c), "-s", str(s), "-o", str(tmp_path / "out"), "--engine",
                 "ray", "--model", str(tiny_decoder_file), "--strength", "learned"])
    assert code == 2 and "learned" in capsys.readouterr().err
    assert not list((tmp_path / "out").glob("*.png"))
    assert not (tmp_path / "out" / "manifest.jsonl").exists()  # refused: no empty manifest


def test_a_manifest_without_records_leaves_no_file(tmp_path):
    path = tmp_path / "m" / "manifest.jsonl"
    with Manifest(path, {"alpha": 0.5}):
        pass
    assert not path.exists() and not path.parent.exists()
