import csv
import json

import numpy as np
import pytest
import torch

from conftest import make_image
from depthstyle.cli import main
from depthstyle.evaluation import metrics as M
from depthstyle.evaluation.report import compare_at_equal_style, scatter_svg
from depthstyle.io import save_image


def test_identical_images_are_perfect():
    x = make_image(48, 64, 1)
    assert M.ssim(x, x) == pytest.approx(1.0)
    assert M.edge_fscore(x, x) == pytest.approx(1.0)
    f = [torch.rand(1, 8, 6, 6), torch.rand(1, 4, 3, 3)]
    assert M.style_distances(f, f) == {"meanstd": 0.0, "gram": 0.0}
    assert M.content_distance(f[0], f[0]) == 0.0
    assert M.colour_distance(x, x) == pytest.approx(0.0, abs=1e-9)


def test_ssim_drops_with_noise():
    x = make_image(48, 64, 1)
    noisy = (x + 0.2 * torch.randn_like(x)).clamp(0, 1)
    assert M.ssim(x, noisy) < 0.8
    assert M.edge_fscore(x, torch.rand_like(x)) < 0.5


def test_depth_metrics_known_answers():
    g = torch.Generator().manual_seed(0)
    y, x = torch.meshgrid(torch.linspace(0, 1, 40), torch.linspace(0, 1, 50), indexing="ij")
    depth = (0.3 * x + 0.7 * y + 0.05 * torch.rand(40, 50, generator=g))[None, None]
    # scale and shift do not matter
    assert M.ssi_rmse(3 * depth + 2, depth) == pytest.approx(0.0, abs=1e-6)
    assert M.spearman(3 * depth + 2, depth) == pytest.approx(1.0)
    assert M.spearman(-depth, depth) == pytest.approx(-1.0)
    # a shuffled map scores worse than the true one
    shuffled = depth.flatten()[torch.randperm(depth.numel(), generator=g)].view_as(depth)
    assert M.ssi_rmse(shuffled, depth) > 0.9
    assert abs(M.spearman(shuffled, depth)) < 0.1
    assert M.edge_fscore(shuffled, depth) < M.edge_fscore(depth + 0.01, depth)


def test_near_mask_takes_the_nearest_third():
    prox = torch.linspace(0, 1, 90).view(1, 1, 1, 90)
    m = M.near_mask(prox)
    assert m.sum() == 30 and bool(m[..., -30:].all())


def test_spearman_ties_hand_value():
    a = torch.tensor([1.0, 2.0, 2.0, 3.0])
    b = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert M.spearman(a, b) == pytest.approx(0.9486833, abs=1e-6)


def _row(content, setting, kind, style_d, ssim_near):
    return {"content": content, "style": "s", "setting": setting, "kind": kind,
            "style_meanstd": str(style_d), "ssim_near": str(ssim_near), "ssim": "0.5"}


def test_compare_at_equal_style_sign():
    rows = [_row("c", f"u{a}", "uniform", 1 - a, 1 - 0.5 * a) for a in (0.0, 0.5, 1.0)]
    rows += [_row("c", "good", "depth", 0.25, 0.95),   # uniform at 0.25 -> 0.625 error 0.375
             _row("c", "bad", "depth", 0.25, 0.5),
             _row("c", "far", "depth", 5.0, 0.9)]
    cmp = compare_at_equal_style(rows, "1 - SSIM (nearest third)")
    assert cmp["good"]["mean_diff"] == pytest.approx(0.05 - 0.375)
    assert cmp["good"]["wins"] == 1
    assert cmp["bad"]["mean_diff"] > 0 and cmp["bad"]["wins"] == 0
    assert cmp["far"]["compared"] == 0 and cmp["far"]["outside"] == 1


def test_scatter_svg_places_points_and_escapes_labels():
    """Parsed as XML: the points land where the axes say (x grows right, y grows up), the
    line joins them in order, and labels are escaped."""
    import xml.etree.ElementTree as ET

    svg = scatter_svg([{"label": "a<b", "color": "#123", "points": [(0, 1), (1, 2)],
                        "line": True}], "style & distance", "1 - SSIM", width=420, height=300)
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    ns = "{http://www.w3.org/2000/svg}"
    circles = root.findall(f".//{ns}circle")
    assert len(circles) == 2
    (xa, ya), (xb, yb) = ((float(c.get("cx")), float(c.get("cy"))) for c in circles)
    assert xb > xa and yb < ya  # (1, 2) is right of and above (0, 1)
    assert 58 <= xa < xb <= 420 - 12 and 12 <= yb < ya <= 300 - 42  # inside the plot frame
    line = root.find(f".//{ns}polyline")
    assert line is not None and line.get("stroke") == "#123"
    texts = "".join(t.text or "" for t in root.iter(f"{ns}text"))
    assert "style & distance" in texts and "a<b" in texts
    assert scatter_svg([], "x", "y") == "<svg/>"


def test_eval_cli_end_to_end_and_resume(tmp_path, tiny_decoder_file):
    contents, gt = tmp_path / "c", tmp_path / "gt"
    contents.mkdir()
    gt.mkdir()
    for i in range(2):
        save_image(make_image(48, 64, i), contents / f"scene{i}.png")
        np.save(gt / f"scene{i}.depth.npy",
                np.tile(np.linspace(1, 4, 64, dtype=np.float32), (48, 1)))
    save_image(make_image(40, 40, 7), contents / "nogt.png")
    style = save_image(make_image(48, 48, 9), tmp_path / "style.png")
    (contents / "broken.png").write_bytes(b"junk")
    out = tmp_path / "eval"
    args = ["eval", str(contents), "-s", str(style), "-o", str(out), "--gt-dir", str(gt),
            "--alphas", "0.5,1", "--offsets", "0.2", "--contrasts", "10", "--size", "64",
            "--model", str(tiny_decoder_file), "-q"]
    assert main(args) == 1  # the broken content is reported, the rest measured
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert len(rows) == 3 * 3
    by = {(r["content"], r["setting"]): r for r in rows}
    assert by[("scene0.png", "depth_a1_o0.2_c10_ldec")]["proximity_source"] == "ground truth"
    assert by[("scene0.png", "depth_a1_o0.2_c10_ldec")]["ssim_near"] != ""
    assert by[("nogt.png", "uniform_a1")]["ssim_near"] == ""
    assert float(by[("scene0.png", "uniform_a0.5")]["mean_strength"]) == pytest.approx(0.5)
    summary = json.loads((out / "summary.json").read_text())
    assert "broken.png" in " ".join(summary["failures"])
    assert (out / "summary.svg").read_text().startswith("<svg")
    assert (out / "images" / "scene0__~strength__depth_a1_o0.2_c10_ldec.jpg").exists()
    html = (out / "report.html").read_text()
    assert "<svg" in html and "scene0.png" in html
    # resume: nothing is measured twice
    assert main(args) == 1
    assert len(list(csv.DictReader(open(out / "results.csv")))) == 9


def test_eval_learned_and_optimized_settings(tmp_path, lite0):
    from depthstyle.models import build_decoder, save_decoder
    from depthstyle.models.strength_net import StrengthNet

    torch.manual_seed(0)
    model = save_decoder(build_decoder(lite0, (8, 8, 8, 8)), tmp_path / "m.safetensors",
                         encoder=lite0, widths=(8, 8, 8, 8), decode_level=2,
                         strength_net=StrengthNet(3))
    contents, gt = tmp_path / "c", tmp_path / "gt"
    contents.mkdir()
    gt.mkdir()
    save_image(make_image(48, 64, 1), contents / "scene.png")
    np.save(gt / "scene.depth.npy", np.tile(np.linspace(1, 4, 64, dtype=np.float32), (48, 1)))
    style = save_image(make_image(48, 48, 9), tmp_path / "style.png")
    out = tmp_path / "eval"
    assert main(["eval", str(contents), "-s", str(style), "-o", str(out), "--gt-dir", str(gt),
                 "--alphas", "0.5,1", "--offsets", "0.2", "--contrasts", "10", "--size", "64",
                 "--model", str(model), "--learned", "--optimize-steps", "2", "-q"]) == 0
    rows = {r["setting"]: r for r in csv.DictReader(open(out / "results.csv"))}
    assert set(rows) == {"uniform_a0.5", "uniform_a1", "depth_a1_o0.2_c10_ldec",
                         "learned_a1_o0.2_c10", "optimized2_uniform_a1",
                         "optimized2_depth_a1_o0.2_c10"}
    # an untrained learned module is the hand-set transform: the same output, the same numbers
    for col in ("ssim", "ssim_near", "style_meanstd", "mean_strength"):
        assert rows["learned_a1_o0.2_c10"][col] == rows["depth_a1_o0.2_c10_ldec"][col]
    assert rows["optimized2_depth_a1_o0.2_c10"]["proximity_source"] == "ground truth"
    assert rows["optimized2_uniform_a1"]["kind"] == "optimized-uniform"
    summary = json.loads((out / "summary.json").read_text())
    compared = summary["equal_style_comparison"]["1 - SSIM (nearest third)"]
    assert "learned_a1_o0.2_c10" in compared and "optimized2_depth_a1_o0.2_c10" in compared
    assert "learned strength" in (out / "summary.svg").read_text()


def test_eval_cli_honours_depth_kind(tmp_path, image_files, monkeypatch):
    """`depthstyle eval --depth-kind disparity` reaches the depth source (it was dropped)."""
    import depthstyle.depth as depth_mod
    from depthstyle.cli import main

    seen = {}

    class Stop(Exception):
        pass

    def fake(spec, **kwargs):
        seen.update(kwargs, spec=spec)
        raise Stop

    monkeypatch.setattr(depth_mod, "make_depth_source", fake)
    content, style = image_files
    with pytest.raises(Stop):
        main(["eval", str(content), "-s", str(style), "-o", str(tmp_path / "e"),
              "--depth", str(content), "--depth-kind", "disparity", "-q"])
    assert seen["kind"] == "disparity"


@pytest.mark.parametrize("mode", ["residual", "off"])
def test_eval_cli_detail_reaches_every_stylization(tmp_path, tiny_decoder_file, monkeypatch,
                                                   mode):
    """`depthstyle eval --detail MODE` renders every sweep point with that mode."""
    from depthstyle.cli import main
    from depthstyle.pipeline import Stylizer

    seen = []
    call = Stylizer.__call__
    monkeypatch.setattr(Stylizer, "__call__",
                        lambda self, c, s, settings, **kw: seen.append(settings.detail)
                        or call(self, c, s, settings, **kw))
    content = save_image(make_image(40, 48, 1), tmp_path / "c.png")
    style = save_image(make_image(40, 40, 2), tmp_path / "s.png")
    out = tmp_path / "e"
    assert main(["eval", str(content), "-s", str(style), "-o", str(out), "--alphas", "0.5",
                 "--offsets", "0.2", "--contrasts", "10", "--size", "48", "--depth", "none",
                 "--detail", mode, "--no-images", "--model", str(tiny_decoder_file), "-q"]) == 0
    assert seen and set(seen) == {mode}
    assert f"detail {mode}" in json.loads((out / "summary.json").read_text())["notes"][0]
