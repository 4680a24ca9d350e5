"""The bundled model's own quality on the held-out validation photos (slow: runs in CI step 2).

Measured the way `depthstyle eval --quality` measures it, on the 60 validation photos of
../shared/train that training never saw.
"""

import json
import statistics
from pathlib import Path

import pytest

from depthstyle.evaluation.metrics import ssim
from depthstyle.evaluation.quality import border_ratio, psnr
from depthstyle.pipeline import StyleSettings, Stylizer

SPLIT = Path(__file__).resolve().parents[2] / "benchmarks" / "validation-split.json"


@pytest.mark.slow
def test_bundled_model_reconstructs_and_has_no_edge_bands(shared):
    names = json.loads(SPLIT.read_text())["content"]
    st = Stylizer("depthstyle-lite0", device="cpu")
    plain = StyleSettings(alpha=0.0, depth_aware=False, detail=False, content_size=384)
    back = StyleSettings(alpha=0.0, depth_aware=False, content_size=384)
    psnrs, ssims, borders, worst_back = [], [], [], float("inf")
    for name in names:
        photo = st.load_content(shared / "train" / "content" / name, plain)
        rec = st(photo, photo, plain).image
        psnrs.append(psnr(rec, photo))
        ssims.append(ssim(rec, photo))
        borders.append(border_ratio(rec, photo))
        worst_back = min(worst_back, psnr(st(photo, photo, back).image, photo))
    # the decoder alone: v2 measures 16.0 dB / 0.30 (v1 17.5 / 0.37); the 22 dB / 0.75
    # is not met by the shipped decoder (docs/model-card.md), so this only guards regressions
    assert statistics.median(psnrs) >= 15.0
    assert statistics.median(ssims) >= 0.25
    assert max(borders) <= 1.5  # no edge band on any validation photo (v2: 1.42)
    assert worst_back >= 30.0  # strength 0 gives the photo back (detail residual)
