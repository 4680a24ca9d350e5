"""`--depth auto` end to end against a hub-compatible server on 127.0.0.1.

The server serves a tiny random Depth Anything in the hub's layout
(``/<owner>/<name>/resolve/<revision>/<file>``); ``HF_ENDPOINT`` points the client at it, as it
points the hub's own client.
"""

import json
import logging
import shutil

import pytest
import torch

pytest.importorskip("transformers")

from depthstyle.cli import main  # noqa: E402
from depthstyle.depth import AutoDepth, ConstantDepth, TransformersDepth, origin_of  # noqa: E402
from depthstyle.depth.catalog import DEPTH_DOWNLOADS  # noqa: E402
from depthstyle.depth.download import (  # noqa: E402
    LOCK_FILE,
    download_depth_model,
    find_depth_model,
    model_cache_dir,
)
from depthstyle.errors import DownloadError, WeightsError  # noqa: E402
from depthstyle.weights import sha256_of  # noqa: E402

NAME = "depth-anything-v2-small"
REPO = DEPTH_DOWNLOADS[NAME].repo


@pytest.fixture()
def hub(http_root, tiny_depth_dir, tmp_path, monkeypatch):
    """The tiny model on a loopback 'hub'; a fresh cache; downloads allowed."""
    root, url = http_root
    files = root / REPO / "resolve" / DEPTH_DOWNLOADS[NAME].revision
    files.mkdir(parents=True)
    for f in ("config.json", "preprocessor_config.json", "model.safetensors"):
        shutil.copy(tiny_depth_dir / f, files / f)
        # the tiny stand-in's digests replace the pinned ones, as a user's own pin would
        env = "DEPTHSTYLE_SHA256_" + "".join(c if c.isalnum() else "_" for c in f).upper()
        monkeypatch.setenv(env, sha256_of(files / f))
    monkeypatch.setenv("HF_ENDPOINT", url.rstrip("/"))
    monkeypatch.setenv("DEPTHSTYLE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty Hugging Face cache
    for var in ("DEPTHSTYLE_OFFLINE", "HF_HUB_OFFLINE", "DEPTHSTYLE_DEPTH_REVISION"):
        monkeypatch.delenv(var, raising=False)
    return files


def test_first_use_downloads_with_progress_then_the_cache_serves_offline(hub, monkeypatch):
    seen = []
    folder = download_depth_model(NAME, progress=lambda f, done, total: seen.append((f, done)))
    assert folder == model_cache_dir(DEPTH_DOWNLOADS[NAME])
    assert {f for f, _ in seen} == {"config.json", "preprocessor_config.json",
                                    "model.safetensors"}
    lock = json.loads((folder / LOCK_FILE).read_text())
    assert lock["files"]["model.safetensors"] == sha256_of(hub / "model.safetensors")
    # offline, the server gone: the cache is used, nothing is fetched
    shutil.rmtree(hub)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    auto = AutoDepth(NAME, resolution=28)
    assert isinstance(auto.model(), TransformersDepth)
    assert origin_of(auto).source == "model"
    assert auto(torch.rand(1, 3, 40, 40)).shape == (1, 1, 40, 40)


def test_auto_depth_downloads_on_first_use(hub):
    auto = AutoDepth(NAME, resolution=28)
    assert isinstance(auto.model(), TransformersDepth)
    assert find_depth_model(NAME) == model_cache_dir(DEPTH_DOWNLOADS[NAME])


def test_wrong_hash_is_refused_and_not_kept(hub, monkeypatch, caplog):
    monkeypatch.setenv("DEPTHSTYLE_SHA256_MODEL_SAFETENSORS", "0" * 64)
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        download_depth_model(NAME)
    folder = model_cache_dir(DEPTH_DOWNLOADS[NAME])
    assert not any(folder.iterdir())  # nothing kept, not even the files that were fine
    assert find_depth_model(NAME) is None
    # through --depth auto: uniform strength and one warning, no exception
    with caplog.at_level(logging.WARNING, logger="depthstyle"):
        auto = AutoDepth(NAME)
        assert isinstance(auto.model(), ConstantDepth)
        auto.model()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING
                and r.name == "depthstyle.depth.resolve"]
    assert len(warnings) == 1 and "sha256 mismatch" in warnings[0].getMessage()
    assert "depthstyle weights download depth-anything-v2-small" in warnings[0].getMessage()


def test_right_pinned_hash_is_accepted(hub, monkeypatch):
    monkeypatch.setenv("DEPTHSTYLE_SHA256_MODEL_SAFETENSORS", sha256_of(hub / "model.safetensors"))
    folder = download_depth_model(NAME)
    assert json.loads((folder / LOCK_FILE).read_text())["pinned"]["model.safetensors"] is True


def test_a_damaged_cache_is_not_used(hub):
    folder = download_depth_model(NAME)
    with open(folder / "model.safetensors", "r+b") as f:
        f.seek(100)
        f.write(b"\x00\x01\x02")
    assert find_depth_model(NAME) is None


def test_offline_variables_stop_the_download(hub, monkeypatch):
    for var in ("DEPTHSTYLE_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.setenv(var, "1")
        with pytest.raises(WeightsError, match=f"downloads are off \\({var}=1\\)"):
            download_depth_model(NAME)
        monkeypatch.delenv(var)
    assert not (model_cache_dir(DEPTH_DOWNLOADS[NAME]) / "model.safetensors").exists()


def test_no_server_gives_uniform_strength_and_a_warning(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("DEPTHSTYLE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("DEPTHSTYLE_OFFLINE", raising=False)
    photo = tmp_path / "photo.png"
    from depthstyle.io import save_image

    save_image(torch.rand(1, 3, 48, 64), photo)
    out = tmp_path / "out.png"
    code = main(["stylize", str(photo), "-s", str(photo), "-o", str(out), "--model",
                 "depthstyle-lite0", "--content-size", "64"])
    assert code == 0 and out.is_file()
    text = capfd.readouterr().err  # the CLI's own log handler (stderr)
    assert text.count("WARNING") == 1
    assert "no depth model" in text and "uniform strength" in text
    assert "photo.png: no depth (no depth map and no depth model): uniform strength" in text


def test_cli_download_then_stylize_offline_says_where_depth_came_from(hub, tmp_path,
                                                                      monkeypatch, capfd):
    assert main(["weights", "download", NAME]) == 0
    assert str(model_cache_dir(DEPTH_DOWNLOADS[NAME])) in capfd.readouterr().out
    monkeypatch.setenv("DEPTHSTYLE_OFFLINE", "1")
    from depthstyle.io import save_image

    photo = tmp_path / "room.png"
    save_image(torch.rand(1, 3, 48, 64), photo)
    assert main(["stylize", str(photo), "-s", str(photo), "-o", str(tmp_path / "o.png"),
                 "--content-size", "64", "--depth-resolution", "28", "--save-maps"]) == 0
    err = capfd.readouterr().err
    assert f"room.png: depth from the depth model {REPO}, read as relative depth" in err
    assert "WARNING" not in err


def test_the_real_model_is_pinned_and_a_file_that_is_not_it_is_refused(hub, monkeypatch,
                                                                        capsys):
    entry = DEPTH_DOWNLOADS[NAME]
    assert entry.repo == "depth-anything/Depth-Anything-V2-Small-hf"
    assert entry.revision == "5426e4f0f36572d16453bbda7a8389317b1bef99"
    assert entry.files["model.safetensors"] == (
        "3152477ce0d8d6978d76b995120de97cb5b928701fd0f817769f59e249a16b70")
    assert entry.sizes == {"config.json": 950, "preprocessor_config.json": 775,
                           "model.safetensors": 99_173_660}
    assert entry.license == "Apache-2.0"
    for f in entry.files:  # without the test's own pins the pinned digests are checked
        monkeypatch.delenv("DEPTHSTYLE_SHA256_" + "".join(
            c if c.isalnum() else "_" for c in f).upper())
    with pytest.raises(DownloadError, match="sha256 mismatch, expected c56698d3"):
        download_depth_model(NAME)
    assert not model_cache_dir(entry).joinpath("config.json").exists()
    assert main(["weights", "list"]) == 0
    out = capsys.readouterr().out
    assert "depth-anything/Depth-Anything-V2-Small-hf@5426e4f0f36572d16453bbda7a8389317b1bef99" \
        in out
    assert ("model.safetensors 99,173,660 bytes sha256="
            "3152477ce0d8d6978d76b995120de97cb5b928701fd0f817769f59e249a16b70") in out
