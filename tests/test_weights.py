import hashlib
import re
from importlib import resources
from pathlib import Path

import pytest
import torch

from depthstyle import weights as W
from depthstyle.errors import DownloadError, WeightsError


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("DEPTHSTYLE_CACHE", str(d))
    monkeypatch.delenv("DEPTHSTYLE_OFFLINE", raising=False)
    monkeypatch.delenv("DEPTHSTYLE_WEIGHTS_DIR", raising=False)
    return d


def test_download_verifies_sha256(http_root, cache):
    root, url = http_root
    payload = b"weights" * 1000
    (root / "w.bin").write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    wf = W.WeightFile("w.bin", digest, (url + "w.bin",), format="torch")
    seen = []
    path = W.fetch_file(wf, progress=lambda done, total: seen.append((done, total)))
    assert path == cache / "w.bin" and path.read_bytes() == payload
    assert seen[-1] == (len(payload), len(payload))
    assert W.find_file(wf) == path


def test_corrupted_download_is_not_kept(http_root, cache):
    root, url = http_root
    (root / "w.bin").write_bytes(b"tampered")
    wf = W.WeightFile("w.bin", "0" * 64, (url + "w.bin",))
    with pytest.raises(DownloadError, match=r"sha256 mismatch, expected 0{64}, got [0-9a-f]{64}"):
        W.fetch_file(wf)
    assert not (cache / "w.bin").exists()
    assert not any(cache.iterdir())  # no temp file either


def test_mirror_fallback_and_http_error(http_root, cache):
    root, url = http_root
    (root / "w.bin").write_bytes(b"ok")
    wf = W.WeightFile("w.bin", hashlib.sha256(b"ok").hexdigest(),
                      (url + "missing.bin", url + "w.bin"))
    assert W.fetch_file(wf).read_bytes() == b"ok"
    wf404 = W.WeightFile("x.bin", "0" * 64, (url + "missing.bin",))
    with pytest.raises(DownloadError, match="404"):
        W.fetch_file(wf404)


def test_offline_mode_gives_instructions(cache, monkeypatch):
    monkeypatch.setenv("DEPTHSTYLE_OFFLINE", "1")
    wf = W.WeightFile("w.bin", "0" * 64, ("http://127.0.0.1:9/w.bin",))
    with pytest.raises(WeightsError, match=r"not found in .*offline mode.*DEPTHSTYLE_WEIGHTS_DIR"):
        W.fetch_file(wf)


def test_unpinned_digest_can_be_pinned_by_env(http_root, cache, monkeypatch):
    root, url = http_root
    (root / "decoder.pth").write_bytes(b"abc")
    wf = W.WeightFile("decoder.pth", None, (url + "decoder.pth",), format="torch")
    monkeypatch.setenv("DEPTHSTYLE_SHA256_DECODER_PTH", "1" * 64)
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        W.fetch_file(wf)
    monkeypatch.delenv("DEPTHSTYLE_SHA256_DECODER_PTH")
    assert W.fetch_file(wf).read_bytes() == b"abc"


def test_registry_metadata_is_complete():
    from depthstyle.models import BUILDERS, ENCODER_SPECS

    assert W.resolve_name(W.DEFAULT_MODEL) in W.REGISTRY
    assert all(target in W.REGISTRY for target in W.ALIASES.values())
    for name, e in W.REGISTRY.items():
        assert e.name == name and e.description and e.license and e.source
        assert e.encoder in ENCODER_SPECS and e.builder in BUILDERS
        for wf in e.files.values():
            assert wf.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", wf.sha256)
            assert wf.sha256 is not None or wf.note  # unpinned files say why
            assert wf.bundled or wf.urls or wf.how_to_get  # every file can be had


def test_verify_reports_a_tampered_file(tmp_path, monkeypatch):
    """A file whose bytes changed after pinning is reported as MISMATCH, not ok."""
    wf = W.WeightFile("w.bin", hashlib.sha256(b"original").hexdigest(), ("http://x/w.bin",))
    entry = W.ModelEntry(name="t", description="t", encoder="lite0", files={"decoder": wf},
                         license="-", source="-", training_data="-", input_normalisation="-")
    monkeypatch.setitem(W.REGISTRY, "t", entry)
    monkeypatch.setenv("DEPTHSTYLE_WEIGHTS_DIR", str(tmp_path))
    (tmp_path / "w.bin").write_bytes(b"original")
    assert W.verify_model("t") == {"decoder": "ok"}
    (tmp_path / "w.bin").write_bytes(b"tampered")
    assert W.verify_model("t")["decoder"].startswith("MISMATCH")


def test_bundled_files_match_their_digests():
    for name, entry in W.REGISTRY.items():
        if all(wf.bundled for wf in entry.files.values()):
            for role, status in W.verify_model(name).items():
                assert status == "ok", (name, role, status)


def test_the_package_ships_one_decoder_and_the_earlier_ones_match_their_digests(
        earlier_releases):
    assets = Path(str(resources.files("depthstyle") / "assets"))
    assert sorted(p.name for p in assets.glob("*.safetensors")) == [
        "lite0-decoder-v4.safetensors", "lite0-trunk.safetensors"]
    assert W.resolve_name(W.DEFAULT_MODEL) == "depthstyle-lite0-v4"
    for v in (1, 2, 3):
        wf = W.get_entry(f"depthstyle-lite0-v{v}").files["decoder"]
        assert not wf.bundled and wf.sha256 and f"training/lite0-v{v}.sh" in wf.how_to_get
        assert W.verify_model(f"depthstyle-lite0-v{v}") == {"encoder": "ok", "decoder": "ok"}
        assert (Path(__file__).resolve().parents[1] / "training" / f"lite0-v{v}.sh").is_file()


def test_every_release_has_a_recipe_that_bash_can_parse():
    import subprocess

    training = Path(__file__).resolve().parents[1] / "training"
    for v in (1, 2, 3, 4):
        script = training / f"lite0-v{v}.sh"
        assert subprocess.run(["bash", "-n", str(script)]).returncode == 0, script
        assert "depthstyle train" in script.read_text() or "run lite0" in script.read_text()


def test_an_earlier_release_that_is_not_here_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("DEPTHSTYLE_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("DEPTHSTYLE_CACHE", str(tmp_path / "cache"))
    with pytest.raises(WeightsError, match=r"lite0-decoder-v1\.safetensors: not found in .*only "
                                           r"the default model ships in the package.*"
                                           r"weights/lite0-decoder-v1\.safetensors.*"
                                           r"bash training/lite0-v1\.sh"):
        W.fetch_file(W.get_entry("depthstyle-lite0-v1").files["decoder"])


def test_vgg_param_count_matches_registry():
    from depthstyle.models.vgg import adain_decoder_sequential, vgg19_encoder

    counts = W.REGISTRY["vgg19-adain"].num_params
    assert sum(p.numel() for p in adain_decoder_sequential().parameters()) == counts["decoder"]
    assert sum(p.numel() for p in vgg19_encoder().parameters()) == counts["encoder"]


def test_load_state_dict_file_rejects_pickles_and_junk(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"x": Evil()}, tmp_path / "evil.pth")
    with pytest.raises(WeightsError, match="evil.pth"):
        W.load_state_dict_file(tmp_path / "evil.pth")
    (tmp_path / "junk.pth").write_bytes(b"junk")
    with pytest.raises(WeightsError, match="not a readable torch weights file"):
        W.load_state_dict_file(tmp_path / "junk.pth")
    torch.save([1, 2], tmp_path / "list.pth")
    with pytest.raises(WeightsError, match="state dict of tensors"):
        W.load_state_dict_file(tmp_path / "list.pth")
