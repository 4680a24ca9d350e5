"""Shared fixtures: tiny models in the real formats, small images, the shared data folder."""

from __future__ import annotations

import http.server
import json
import os
import threading
from functools import partial
from pathlib import Path

import pytest
import torch
from torch import nn

from depthstyle.models import StyleModel, build_decoder, build_encoder

# ../shared beside the project; DEPTHSTYLE_SHARED points elsewhere (e.g. from mutmut's copy)
SHARED = Path(os.environ.get("DEPTHSTYLE_SHARED")
              or Path(__file__).resolve().parents[1].parent / "shared")

# No test may reach the network: `--depth auto` (the default) would otherwise try to download the
# depth model. The download tests lift this against a server on 127.0.0.1.
os.environ["DEPTHSTYLE_OFFLINE"] = "1"


RELEASES = Path(__file__).resolve().parents[1] / "weights"  # earlier decoders, not in the wheel


@pytest.fixture()
def earlier_releases(monkeypatch) -> Path:
    """The earlier releases' decoders (v1-v3) found through ``$DEPTHSTYLE_WEIGHTS_DIR``."""
    monkeypatch.setenv("DEPTHSTYLE_WEIGHTS_DIR", str(RELEASES))
    return RELEASES


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        if os.environ.get("CI"):  # CI has the data: a missing folder is a broken checkout
            pytest.fail(f"shared data folder not found at {SHARED}")
        pytest.skip(f"shared data folder not found at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def lite0():
    return build_encoder("lite0")


class PointwiseDecoder(nn.Module):
    """1x1 conv + nearest upsampling: each output pixel depends on one feature pixel only."""

    def __init__(self, channels: int, factor: int) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.conv = nn.Conv2d(channels, 3, 1)
        with torch.no_grad():
            self.conv.weight.copy_(torch.randn(self.conv.weight.shape, generator=g) * 0.05)
            self.conv.bias.fill_(0.5)
        self.factor = factor

    def forward(self, feats):
        x = feats[-1] if isinstance(feats, (list, tuple)) else feats  # decoders get every tap
        return nn.functional.interpolate(self.conv(x), scale_factor=self.factor, mode="nearest")


@pytest.fixture()
def pointwise_model(lite0) -> StyleModel:
    return StyleModel(lite0, PointwiseDecoder(lite0.channels[2], 8), "pointwise", decode_level=2)


@pytest.fixture()
def tiny_model(lite0) -> StyleModel:
    torch.manual_seed(0)
    return StyleModel(lite0, build_decoder(lite0, (8, 8, 8, 8)).eval(), "tiny", decode_level=2)


@pytest.fixture()
def tiny_decoder_file(tmp_path, lite0) -> Path:
    from depthstyle.models import save_decoder

    torch.manual_seed(0)
    dec = build_decoder(lite0, (8, 8, 8, 8))
    return save_decoder(dec, tmp_path / "tiny.safetensors", encoder=lite0, widths=(8, 8, 8, 8),
                        decode_level=2)


def make_image(h: int = 64, w: int = 96, seed: int = 0) -> torch.Tensor:
    """A smooth random colour image (1, 3, h, w) in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(1, 3, max(2, h // 8), max(2, w // 8), generator=g)
    return nn.functional.interpolate(low, size=(h, w), mode="bilinear", align_corners=False)


@pytest.fixture()
def image_files(tmp_path):
    """Write a content and a style PNG; return their paths."""
    from depthstyle.io import save_image

    c = save_image(make_image(64, 96, 1), tmp_path / "content.png")
    s = save_image(make_image(80, 80, 2), tmp_path / "style.png")
    return c, s


@pytest.fixture()
def http_root(tmp_path):
    """A static HTTP server on 127.0.0.1 serving tmp_path/www; yields (root dir, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def tiny_depth_dir(tmp_path_factory):
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config

    backbone = Dinov2Config(hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
                            intermediate_size=64, image_size=56, patch_size=14,
                            out_indices=[1, 2, 3, 4], reshape_hidden_states=False,
                            apply_layernorm=True)
    config = DepthAnythingConfig(backbone_config=backbone, reassemble_hidden_size=32,
                                 neck_hidden_sizes=[8, 16, 32, 32], fusion_hidden_size=16,
                                 head_hidden_size=8, patch_size=14)
    torch.manual_seed(0)
    model = DepthAnythingForDepthEstimation(config)
    d = tmp_path_factory.mktemp("tiny-depth-anything")
    model.save_pretrained(d)
    (d / "preprocessor_config.json").write_text(json.dumps({
        "do_resize": True, "size": {"height": 56, "width": 56}, "keep_aspect_ratio": True,
        "ensure_multiple_of": 14, "image_mean": [0.485, 0.456, 0.406],
        "image_std": [0.229, 0.224, 0.225]}))
    return d


# --- a small preference study (tests/study) ---------------------------------------------------

@pytest.fixture()
def study_files(tmp_path) -> Path:
    from study.studykit import write_study_files

    return write_study_files(tmp_path)


@pytest.fixture()
def study_db(study_files) -> Path:
    from study.studykit import METHODS

    from depthstyle.study import StudyStore, build_design

    design = build_design("demo", {m: study_files / m for m in METHODS},
                          study_files / "contents", study_files / "styles")
    store = StudyStore(study_files / "study.db")
    store.create_study(design)
    store.close()
    return study_files / "study.db"


# --- a headless browser (web and study pages) ----------------------------------------------------

def chromium_path() -> str | None:
    """A Chromium executable: $DEPTHSTYLE_CHROMIUM, else one on PATH (Debian's chromium)."""
    import os
    import shutil

    for cand in (os.environ.get("DEPTHSTYLE_CHROMIUM"), shutil.which("chromium"),
                 shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if cand and os.path.exists(cand):
            return cand
    return None


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by Playwright (skips without either).

    Module-scoped on purpose: Playwright's sync API keeps an event loop running in this thread
    while it is open, and tests after it call ``asyncio.run``.
    """
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    exe = chromium_path()
    if exe is None:
        pytest.skip("no Chromium executable found (apt-get install chromium, or set "
                    "DEPTHSTYLE_CHROMIUM)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        yield b
        b.close()
