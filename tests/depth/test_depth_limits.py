"""Depth files are bounded like images: declared sizes are checked before anything is read.

Each bad file is read in a child process that reports its peak RSS, so the test measures the
memory a bad file costs (it must stay under 500 MB) and fails on readers that load first and
check after.
"""

import json
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from numpy.lib import format as npformat

from depthstyle.errors import DepthMapError
from depthstyle.io import read_map_array

GIB = 1 << 30


def sparse_file(path, header: bytes, total: int):
    """``header`` followed by zeros up to ``total`` bytes, without writing the zeros."""
    with open(path, "wb") as f:
        f.write(header)
        f.truncate(total)
    return path


def npy_header(shape, dtype="<f4") -> bytes:
    import io

    buf = io.BytesIO()
    npformat.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False,
                                          "shape": tuple(shape)})
    return buf.getvalue()


def zero_png(w: int, h: int) -> bytes:
    """An 8-bit grey PNG of w x h zeros, compressed row by row (never held whole)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    comp, row, parts = zlib.compressobj(9), b"\x00" * (w + 1), []
    for _ in range(h):
        parts.append(comp.compress(row))
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(parts))
            + chunk(b"IEND", b""))


CHILD = r"""
import json, sys, warnings
warnings.simplefilter("error")  # a library warning (Pillow's decompression bomb) is a failure
what, path = sys.argv[1], sys.argv[2]
error = None
try:
    if what == "map":
        from depthstyle.io import read_map_array
        read_map_array(path)
    else:
        from depthstyle.depth.embedded import read_embedded_depth
        read_embedded_depth(path)
except Exception as exc:
    error = f"{type(exc).__name__}: {exc}"
# the peak RSS of this process image: VmHWM starts anew at exec (ru_maxrss would carry the
# parent's peak over the fork)
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"error": error, "rss_mb": int(hwm.split()[1]) / 1024}))
"""


def read_in_child(what: str, path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, what, str(path)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", ["npy-huge-shape", "npy-small-shape-huge-file",
                                  "pfm-huge-size", "pfm-small-size-huge-file"])
def test_a_3_gib_map_beside_a_photo_is_refused_by_its_header(tmp_path, case):
    kind, rest = case.split("-", 1)
    if kind == "npy":
        shape = (40_000, 20_000) if rest == "huge-shape" else (10, 10)
        target = sparse_file(tmp_path / "big.bin", npy_header(shape), 3 * GIB)
    else:
        dims = b"20000 40000" if rest == "huge-size" else b"10 10"
        target = sparse_file(tmp_path / "big.bin", b"Pf\n" + dims + b"\n-1.0\n", 3 * GIB)
    link = tmp_path / f"photo.depth.{kind}"
    link.symlink_to(target)  # the map beside the photo is a link to the big file
    got = read_in_child("map", link)
    assert got["error"] and got["error"].startswith(f"DepthMapError: {link}: ")
    if "huge-s" in case:
        assert "over the limit of 40,000,000 pixels; refused before reading it" in got["error"]
    else:
        assert "expected" in got["error"] or "declares" in got["error"]
    assert got["rss_mb"] < 500, got


def test_embedded_depth_over_the_pixel_limit_is_refused_before_decoding(tmp_path):
    from test_depth_embedded import gdepth_jpeg

    png = zero_png(12_800, 10_240)  # 131 MP, 3.3 times the image limit; about 130 KB
    photo = tmp_path / "phone.jpg"
    photo.write_bytes(gdepth_jpeg(np.ones((48, 64)), 0.5, 4.0, png_bytes=png))
    assert photo.stat().st_size < 1_000_000
    got = read_in_child("embedded", photo)
    assert got["error"] == ("ValueError: GDepth: the depth image is 12800x10240 (131,072,000 "
                            "pixels), over the limit of 40,000,000 pixels; refused before "
                            "decoding it")
    assert got["rss_mb"] < 500, got


def test_the_cli_says_so_in_one_line_and_pillow_never_warns(tmp_path, capfd):
    import torch
    from test_depth_embedded import gdepth_jpeg

    from depthstyle.cli import main
    from depthstyle.io import save_image

    photo = tmp_path / "phone.jpg"
    photo.write_bytes(gdepth_jpeg(np.ones((48, 64)), 0.5, 4.0, png_bytes=zero_png(9000, 5000)))
    style = tmp_path / "style.png"
    save_image(torch.rand(1, 3, 32, 32), style)
    common = ["stylize", str(photo), "-s", str(style), "--content-size", "64", "--depth-model",
              str(tmp_path / "no-model")]
    assert main([*common, "-o", str(tmp_path / "o.png")]) == 0
    err = capfd.readouterr().err
    lines = [line for line in err.splitlines() if "embedded depth" in line]
    assert len(lines) == 1, err
    assert "phone.jpg" in lines[0] and "9000x5000" in lines[0] and "40,000,000 pixels" in lines[0]
    assert "DecompressionBomb" not in err
    assert main([*common, "-o", str(tmp_path / "q.png"), "-q"]) == 0
    assert "DecompressionBomb" not in capfd.readouterr().err  # Pillow's own warning never shows


def test_map_files_within_the_limits_still_read(tmp_path):
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.save(tmp_path / "m.npy", arr)
    np.testing.assert_array_equal(read_map_array(tmp_path / "m.npy"), arr)
    np.save(tmp_path / "f.npy", np.asfortranarray(arr.astype(np.float64)))
    np.testing.assert_array_equal(read_map_array(tmp_path / "f.npy"), arr)
    pfm = b"Pf\n4 3\n-1.0\n" + arr[::-1].astype("<f4").tobytes()
    (tmp_path / "m.pfm").write_bytes(pfm)
    np.testing.assert_array_equal(read_map_array(tmp_path / "m.pfm"), arr)
    (tmp_path / "short.pfm").write_bytes(pfm[:-4])
    with pytest.raises(DepthMapError, match="PFM holds 11 values, expected 4x3x1"):
        read_map_array(tmp_path / "short.pfm")
    (tmp_path / "long.npy").write_bytes((tmp_path / "m.npy").read_bytes() + b"\0" * 8)
    with pytest.raises(DepthMapError, match=r"\.npy holds 56 bytes of data, its header "
                                            r"declares 48"):
        read_map_array(tmp_path / "long.npy")
