"""``--engine ray`` on real local Ray clusters: the same outputs as the local engine, failures in
the manifest, resume after killed workers and a killed run, a two-node cluster by address.

Every cluster here lives on loopback addresses (127.0.0.1 for ``ray.init``, 127.0.0.2 for the
``ray start`` head and its second node).
"""

import os

# a cluster started in this process stays on 127.0.0.1 (what depthstyle sets before importing
# Ray for a local run; it has to be set before the first import of Ray)
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

import secrets  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from conftest import make_image  # noqa: E402
from depthstyle.batch import Manifest  # noqa: E402
from depthstyle.cli import main  # noqa: E402
from depthstyle.io import save_image  # noqa: E402

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

HEAD_IP = "127.0.0.2"


def _dataset(root: Path, n_per_class: int, size: tuple[int, int]) -> tuple[Path, Path]:
    """root/in/{cat,dog}/img*.png (+ a disparity map beside one), root/styles/*.png."""
    h, w = size
    for c, cls in enumerate(("cat", "dog")):
        for i in range(n_per_class):
            save_image(make_image(h, w, 10 * c + i), root / "in" / cls / f"img{i}.png")
    disparity = np.linspace(0, 255, w, dtype=np.uint8)[None].repeat(h, 0)
    Image.fromarray(disparity).save(root / "in" / "cat" / "img0.disparity.png")
    for i in range(3):
        save_image(make_image(48, 48, 100 + i), root / "styles" / f"style{i}.png")
    return root / "in", root / "styles"


def _outputs(folder: Path) -> dict[str, np.ndarray]:
    return {p.relative_to(folder).as_posix(): np.asarray(Image.open(p), dtype=np.int16)
            for p in sorted(folder.rglob("*.png"))}


def _assert_same_images(a: Path, b: Path) -> None:
    x, y = _outputs(a), _outputs(b)
    assert sorted(x) == sorted(y)
    for name in x:
        assert np.abs(x[name] - y[name]).max() <= 1, name  # <= 1/255


def test_ray_on_a_two_cpu_local_cluster_matches_the_local_engine(tmp_path, capsys):
    contents, styles = _dataset(tmp_path, 3, (48, 64))
    (contents / "dog" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    common = ["stylize", str(contents), "-r", "-s", str(styles), "--styles-per-image", "2",
              "--seed", "5", "--content-size", "64", "--save-maps"]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             logging_level="ERROR")
    try:
        assert ray.nodes()[0]["NodeManagerAddress"] == "127.0.0.1"
        code = main([*common, "-o", str(tmp_path / "ray"), "--engine", "ray"])
    finally:
        ray.shutdown()
    assert code == 1  # the corrupt input failed, the rest were written
    assert main([*common, "-o", str(tmp_path / "local")]) == 1
    _assert_same_images(tmp_path / "ray", tmp_path / "local")
    records = Manifest.read(tmp_path / "ray" / "manifest.jsonl")
    assert len(records) == 7 * 2
    failed = [r for r in records if r["status"] == "failed"]
    assert len(failed) == 2 and all("corrupt.png" in r["error"] for r in failed)
    ok = [r for r in records if r["status"] == "ok"]
    assert len(ok) == 12 and len(_outputs(tmp_path / "ray")) == 12 * 3  # + proximity, strength
    # depth came by the same order as locally: the map beside img0, else uniform (offline)
    assert {r["depth"] for r in ok if "cat/img0" in r["input"]} == {"beside"}
    assert {r["depth"] for r in ok if "cat/img0" not in r["input"]} == {"uniform"}
    # the style draw: 2 different styles per image, the same as the local run drew
    drawn = {}
    for r in records:
        drawn.setdefault(Path(r["input"]).name + Path(r["input"]).parent.name, []).extend(
            r["styles"])
    assert all(len(set(v)) == 2 for v in drawn.values())
    local_names = set(_outputs(tmp_path / "local"))
    assert {Path(r["output"]).relative_to(tmp_path / "ray").as_posix()
            for r in ok} <= local_names
    assert "cat" in {p.name for p in (tmp_path / "ray").iterdir()}  # class folders kept


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HEAD_IP, 0))
        return s.getsockname()[1]


@pytest.fixture()
def two_node_cluster(tmp_path):
    """`ray start --head` on 127.0.0.2 plus a second node process; yields (address, env)."""
    if shutil.which("ray", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("the ray command is not installed beside this Python")
    ray_cmd = str(Path(sys.executable).parent / "ray")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(16),
               RAY_USAGE_STATS_ENABLED="0")
    address = f"{HEAD_IP}:{_free_port()}"
    node = ["--node-ip-address", HEAD_IP, "--num-cpus", "1", "--disable-usage-stats"]
    try:
        subprocess.run([ray_cmd, "start", "--head", "--port", address.split(":")[1],
                        "--include-dashboard=false", *node], env=env, check=True,
                       capture_output=True, timeout=120)
        subprocess.run([ray_cmd, "start", "--address", address, *node], env=env, check=True,
                       capture_output=True, timeout=120)
        yield address, env
    finally:
        subprocess.run([ray_cmd, "stop", "--force"], env=env, capture_output=True, timeout=120)


def _wait_for_lines(manifest: Path, n: int, proc: subprocess.Popen, timeout: float = 120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if manifest.exists() and len(Manifest.read(manifest)) >= n:
            return Manifest.read(manifest)
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} manifest lines after {timeout} s")


def test_two_node_cluster_by_address_survives_a_killed_worker_and_resumes_a_killed_run(
        tmp_path, two_node_cluster):
    address, env = two_node_cluster
    contents, styles = _dataset(tmp_path, 4, (192, 256))
    out = tmp_path / "ray"
    args = ["stylize", str(contents), "-r", "-s", str(styles), "--content-size", "256",
            "--depth", "none", "-o", str(out)]
    cmd = [sys.executable, "-m", "depthstyle", *args, "--engine", "ray", "--ray-address",
           address, "--batch-size", "1"]
    manifest = out / "manifest.jsonl"
    n_jobs = 8 * 3

    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        first = _wait_for_lines(manifest, 1, proc)
        # kill the actor that did the first job: Ray restarts it and retries its batch
        os.kill(int(first[0]["worker"].split()[0].split(":")[1]), signal.SIGKILL)
        before_kill = _wait_for_lines(manifest, 6, proc)
        assert len(before_kill) < n_jobs, "the run ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)  # then the whole run dies mid-way
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    done_before = _outputs(out)
    assert 6 <= len(done_before) < n_jobs  # every output on disk decodes: no half-written file
    resumed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    last = {r["output"]: r for r in Manifest.read(manifest)}
    assert len(last) == n_jobs and {r["status"] for r in last.values()} <= {"ok", "skipped"}
    skipped = {Path(o).relative_to(out).as_posix() for o, r in last.items()
               if r["status"] == "skipped"}
    assert skipped >= set(done_before)  # nothing done before was done again
    nodes = {r["worker"].split()[-1] for r in Manifest.read(manifest) if r["status"] == "ok"}
    assert len(nodes) == 2  # one actor on each node
    assert main([*args[:-1], str(tmp_path / "local")]) == 0
    _assert_same_images(out, tmp_path / "local")
