"""Fault injection: a full disk or an unwritable folder mid-batch; a server killed mid-request."""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from conftest import make_image
from depthstyle.cli import main
from depthstyle.io import save_image


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EACCES])
def test_write_failure_mid_batch(tmp_path, tiny_decoder_file, monkeypatch, capsys, err):
    """The 2nd of 4 outputs cannot be written (disk full / permission lost): that job fails
    with one line naming its output, no partial or temporary file is left, and the outputs
    written before (and after, once the disk is back) are intact."""
    src = tmp_path / "in"
    src.mkdir()
    for i in range(4):
        save_image(make_image(40, 48, i), src / f"c{i}.png")
    style = save_image(make_image(40, 40, 9), tmp_path / "s.png")
    out = tmp_path / "out"
    real_save = Image.Image.save
    calls = {"n": 0}

    def failing_save(self, fp, *args, **kwargs):
        if str(fp).startswith(str(out)):
            calls["n"] += 1
            if calls["n"] == 2:
                with open(fp, "wb") as f:  # half a file, then the disk is full
                    f.write(b"\x89PNG partial")
                raise OSError(err, os.strerror(err))
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", failing_save)
    code = main([str(a) for a in ["stylize", src, "-s", style, "-o", out, "--model",
                                  tiny_decoder_file, "--depth", "none"]])
    assert code == 1
    err_text = capsys.readouterr().err
    assert "c1.png" in err_text and os.strerror(err) in err_text and "Traceback" not in err_text
    assert sorted(p.name for p in out.iterdir()) == ["c0_s.png", "c2_s.png", "c3_s.png"]
    for name in ("c0_s.png", "c2_s.png", "c3_s.png"):
        with Image.open(out / name) as im:
            im.load()  # complete files
    assert "1 of 4 jobs failed" in err_text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_server_killed_mid_upload_leaves_no_temp_files(tmp_path):
    """A big upload (spooled to a temporary file by the form parser) is cut off by SIGKILL;
    after a restart nothing of it is left in the temporary folder."""
    pytest.importorskip("uvicorn")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    port = _free_port()
    env = {**os.environ, "TMPDIR": str(tmpdir), "DEPTHSTYLE_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "depthstyle", "serve", "--port", str(port), "--depth-model",
           "none", "-q"]

    def start():
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return proc
            except OSError:
                time.sleep(0.1)
        proc.kill()
        pytest.fail("server did not start")

    proc = start()
    try:
        boundary = "xyz"
        body_head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"content\"; "
                     f"filename=\"big.png\"\r\nContent-Type: image/png\r\n\r\n").encode()
        declared = 5_000_000
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall((f"POST /api/stylize HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                       f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                       f"Content-Length: {declared}\r\n\r\n").encode() + body_head)
            s.sendall(b"\x00" * 3_000_000)  # over the parser's 1 MB spool threshold
            time.sleep(1.0)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        proc = start()  # restart: nothing left behind from the killed request
        assert list(Path(tmpdir).iterdir()) == []
    finally:
        proc.kill()
        proc.wait(10)
