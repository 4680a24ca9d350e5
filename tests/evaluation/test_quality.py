"""Model-quality measures: PSNR, border ratio, colour-blind texture specificity."""

import json
import math

import pytest
import torch

from conftest import make_image
from depthstyle.evaluation.quality import (
    border_ratio,
    gradient_descriptor,
    model_quality,
    pair_distances,
    psnr,
    style_specificity,
    texture_distance,
    texture_features,
)


def test_psnr_known_values():
    x = torch.zeros(1, 3, 8, 8)
    assert psnr(x, x) == math.inf
    assert psnr(x, x + 0.1) == pytest.approx(20.0)


def test_border_ratio_sees_bands_and_only_bands():
    x = torch.zeros(1, 3, 64, 64)
    uniform = x + 0.1
    assert border_ratio(uniform, x) == pytest.approx(1.0)
    band = x + 0.1
    band[..., :16] = 0.6  # a bright band along the left edge
    assert border_ratio(band, x) > 1.5
    with pytest.raises(ValueError, match="no inside"):
        border_ratio(torch.zeros(1, 3, 20, 64), torch.zeros(1, 3, 20, 64))


def test_gradient_descriptor_is_colour_blind_and_sees_orientation():
    y = torch.linspace(0, 1, 64)
    stripes_h = (torch.sin(y * 40)[:, None] * 0.5 + 0.5).expand(64, 64)
    img_h = stripes_h.expand(1, 3, 64, 64).clone()
    img_v = img_h.transpose(-1, -2).contiguous()
    d = gradient_descriptor(img_h)
    assert d.ndim == 1 and d.sum().item() == pytest.approx(6.0)  # 3 scales x 2 histograms
    assert texture_distance(img_h, img_h)["gradient"] == 0
    assert texture_distance(img_h, img_v)["gradient"] > 1.0  # turned by 90 degrees
    # a chroma shift with zero luminance change (Y = 0.299 R + 0.587 G + 0.114 B)
    shift = torch.tensor([0.1, -0.1 * 0.299 / 0.587, 0.0]).view(1, 3, 1, 1)
    assert texture_distance(img_h * 0.8, img_h * 0.8 + shift)["gradient"] < 1e-6


def test_model_quality_rows_and_cli(tmp_path, tiny_decoder_file, lite0):
    from depthstyle.cli import main
    from depthstyle.io import save_image
    from depthstyle.pipeline import Stylizer

    c, s = tmp_path / "c", tmp_path / "s"
    c.mkdir()
    s.mkdir()
    for i in range(3):
        save_image(make_image(80, 96, i), c / f"c{i}.png")
        save_image(make_image(64, 64, 10 + i) * (0.3 + 0.3 * i), s / f"s{i}.png")
    st = Stylizer(str(tiny_decoder_file), device="cpu")
    rows, summary = model_quality(st, sorted(c.iterdir()), sorted(s.iterdir()), size=64,
                                  specificity_contents=1, progress=False)
    recon = [r for r in rows if "psnr" in r]
    pairs = [r for r in rows if "style_a" in r]
    assert len(recon) == 3 and len(pairs) == 3  # 3 style pairs on the first photo
    assert all(r["psnr_detail"] == math.inf for r in recon)  # the default output is the photo
    assert summary["median_psnr_detail"] == math.inf and math.isfinite(summary["median_psnr"])
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"content": ["c0.png", "c2.png"], "style": ["s0.png", "s1.png"]}))
    assert main(["eval", "--quality", str(c), "-s", str(s), "--split", str(split),
                 "--size", "64", "--specificity-contents", "1", "--model",
                 str(tiny_decoder_file), "-o", str(tmp_path / "q"), "-q"]) == 0
    got = json.loads((tmp_path / "q" / "quality.json").read_text())
    assert got["contents"] == 2 and got["styles"] == 2 and got["n_psnr"] == 2
    assert got["median_psnr_detail"] == "inf"  # strict JSON
    assert (tmp_path / "q" / "quality.csv").is_file()


def test_style_specificity_is_one_for_the_paintings_and_zero_for_one_texture():
    paintings = {k: texture_features(make_image(48, 48, i)) for i, k in enumerate("abc")}
    style_d = pair_distances(paintings)
    assert list(style_d) == [("a", "b"), ("a", "c"), ("b", "c")]
    assert all(v["gradient"] == pytest.approx(1.0)
               for v in style_specificity(paintings, style_d).values())
    same = {k: paintings["a"] for k in paintings}  # every style painted alike
    assert all(v["gradient"] == 0.0 for v in style_specificity(same, style_d).values())
