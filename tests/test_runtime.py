"""Process-level allocator tuning (depthstyle.runtime)."""

import os
import platform
import subprocess
import sys

import pytest

import depthstyle.runtime as runtime


def test_opt_out_by_environment(monkeypatch):
    monkeypatch.setattr(runtime, "_done", None)
    monkeypatch.setenv("DEPTHSTYLE_MALLOC_TUNING", "0")
    assert runtime.tune_cpu_allocator() is False
    monkeypatch.setenv("DEPTHSTYLE_MALLOC_TUNING", "1")
    assert runtime.tune_cpu_allocator() is False  # decided once per process


def test_off_glibc_nothing_is_touched(monkeypatch):
    monkeypatch.setattr(runtime, "_done", None)
    monkeypatch.setattr(runtime.sys, "platform", "darwin")
    assert runtime.tune_cpu_allocator() is False


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="glibc only")
def test_sets_the_thresholds_on_glibc_in_a_fresh_process():
    code = "import depthstyle.runtime as r; print(r.tune_cpu_allocator(), r.tune_cpu_allocator())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "DEPTHSTYLE_MALLOC_TUNING": "1"})
    assert out.stdout.split() == ["True", "True"]


def test_the_pytorch_engine_tunes_on_the_cpu(monkeypatch, tiny_model):
    import torch

    import depthstyle.engines.torch_engine as te

    calls = []
    monkeypatch.setattr(te, "tune_cpu_allocator", lambda: calls.append(1) or True)
    te.TorchEngine(tiny_model, torch.device("cpu"))
    assert calls == [1]
