import io as pyio
import os

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import make_image
from depthstyle.errors import DepthMapError, ImageReadError, OutputExistsError
from depthstyle.io import (
    atomic_output,
    load_image,
    load_image_with_alpha,
    read_map_array,
    resize_image,
    save_image,
)


def _rgb_array(h=20, w=30):
    """A smooth colour gradient (JPEG-friendly)."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // max(1, w - 1), y * 255 // max(1, h - 1),
                     (x + y) * 255 // max(1, h + w - 2)], axis=2).astype(np.uint8)


@pytest.mark.parametrize("ext,fmt", [(".png", "PNG"), (".bmp", "BMP"), (".tif", "TIFF"),
                                     (".webp", "WEBP"), (".jpg", "JPEG")])
def test_formats_load_as_float_rgb(tmp_path, ext, fmt):
    arr = _rgb_array()
    p = tmp_path / f"x{ext}"
    kwargs = {"lossless": True} if fmt == "WEBP" else {"quality": 100} if fmt == "JPEG" else {}
    Image.fromarray(arr).save(p, format=fmt, **kwargs)
    t = load_image(p)
    assert t.shape == (1, 3, 20, 30) and t.dtype == torch.float32
    assert 0.0 <= float(t.min()) and float(t.max()) <= 1.0
    tol = 0.02 if fmt == "JPEG" else 1e-6
    assert np.abs(t[0].permute(1, 2, 0).numpy() * 255 - arr).mean() < 255 * tol


def test_16bit_greyscale_uses_full_range(tmp_path):
    arr = np.array([[0, 65535], [32768, 1000]], dtype=np.uint16)
    p = tmp_path / "g16.png"
    Image.fromarray(arr).save(p)
    t = load_image(p)
    assert t.shape == (1, 3, 2, 2)
    assert t[0, 0, 0, 1].item() == pytest.approx(1.0)
    assert t[0, 1, 1, 0].item() == pytest.approx(32768 / 65535, abs=1e-5)


def test_palette_with_transparency_and_cmyk(tmp_path):
    pal = Image.new("P", (4, 4), 0)
    pal.putpalette([255, 0, 0] + [0, 0, 255] * 255)
    pal.info["transparency"] = 0
    pal.save(tmp_path / "p.png", transparency=0)
    rgb, alpha = load_image_with_alpha(tmp_path / "p.png")
    assert alpha is not None and float(alpha.max()) == 0.0
    composited = load_image(tmp_path / "p.png")
    assert torch.allclose(composited, torch.ones_like(composited))  # over white

    Image.new("CMYK", (5, 4), (0, 255, 255, 0)).save(tmp_path / "c.jpg")
    t = load_image(tmp_path / "c.jpg")
    assert t.shape == (1, 3, 4, 5)
    assert t[0, 0].mean() > 0.8 and t[0, 1].mean() < 0.2  # red


def test_alpha_is_composited_over_background(tmp_path):
    arr = np.zeros((2, 2, 4), dtype=np.uint8)
    arr[..., 0] = 255
    arr[..., 3] = 128
    Image.fromarray(arr, "RGBA").save(tmp_path / "a.png")
    t = load_image(tmp_path / "a.png", background=(0.0, 0.0, 0.0))
    assert t[0, 0, 0, 0].item() == pytest.approx(128 / 255, abs=1e-3)
    rgb, alpha = load_image_with_alpha(tmp_path / "a.png")
    assert rgb[0, 0, 0, 0].item() == 1.0 and alpha.shape == (1, 1, 2, 2)


def test_exif_orientation_is_applied(tmp_path):
    im = Image.fromarray(_rgb_array(10, 30))
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 CW on display
    im.save(tmp_path / "o.jpg", exif=exif.tobytes())
    t = load_image(tmp_path / "o.jpg")
    assert t.shape == (1, 3, 30, 10)
    # orientation 6 = the stored image turned 90 degrees clockwise: its first column (top to
    # bottom) becomes the displayed first row read right to left
    stored = torch.from_numpy(_rgb_array(10, 30).astype(np.float32) / 255).permute(2, 0, 1)
    want = torch.rot90(stored, k=-1, dims=(1, 2))
    assert float((t[0] - want).abs().mean()) < 0.03  # JPEG
    assert float((t[0] - torch.rot90(stored, k=1, dims=(1, 2))).abs().mean()) > 0.05


def test_pixel_limit(tmp_path):
    Image.new("RGB", (100, 100)).save(tmp_path / "big.png")
    with pytest.raises(ImageReadError, match=r"big.png.*exceeds the limit"):
        load_image(tmp_path / "big.png", max_pixels=5000)


@pytest.mark.parametrize("content,match", [(b"", "empty"), (b"not an image at all", "recognised"),
                                           (None, "corrupt or truncated")])
def test_bad_files_have_clear_errors(tmp_path, content, match):
    p = tmp_path / "bad.jpg"
    if content is None:  # a real JPEG cut in half
        buf = pyio.BytesIO()
        Image.fromarray(_rgb_array(64, 64)).save(buf, format="JPEG")
        content = buf.getvalue()[: len(buf.getvalue()) // 2]
    p.write_bytes(content)
    with pytest.raises(ImageReadError, match=match) as exc:
        load_image(p)
    assert "bad.jpg" in str(exc.value)


def test_missing_file(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        load_image(tmp_path / "nope.png")


def test_save_roundtrip_and_no_overwrite(tmp_path):
    img = torch.rand(1, 3, 8, 9)
    p = save_image(img, tmp_path / "o.png")
    torch.testing.assert_close(load_image(p), (img * 255).round() / 255, atol=1e-6, rtol=0)
    before = p.read_bytes()
    with pytest.raises(OutputExistsError, match="overwrite"):
        save_image(torch.zeros(1, 3, 8, 9), p)
    assert p.read_bytes() == before
    save_image(torch.zeros(1, 3, 8, 9), p, overwrite=True)
    assert p.read_bytes() != before
    assert [f.name for f in tmp_path.iterdir()] == ["o.png"]  # no temp files left


def test_atomic_output_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "x.bin"
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_save_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match="unknown output format"):
        save_image(torch.rand(1, 3, 4, 4), tmp_path / "x.gif2")


def test_resize_image_long_side_and_multiple():
    t = torch.rand(1, 3, 300, 200)
    r = resize_image(t, 150, multiple=16)
    assert r.shape == (1, 3, 144, 96)


def test_read_map_array_formats(tmp_path):
    arr = np.arange(12, dtype=np.uint16).reshape(3, 4) * 1000
    Image.fromarray(arr).save(tmp_path / "d.png")
    np.testing.assert_array_equal(read_map_array(tmp_path / "d.png"), arr.astype(np.float32))
    np.save(tmp_path / "d.npy", arr.astype(np.float64)[None])
    np.testing.assert_array_equal(read_map_array(tmp_path / "d.npy"), arr)
    # PFM: little-endian (negative scale), rows stored bottom to top
    data = arr.astype("<f4")[::-1].tobytes()
    (tmp_path / "d.pfm").write_bytes(b"Pf\n4 3\n-1.0\n" + data)
    np.testing.assert_array_equal(read_map_array(tmp_path / "d.pfm"), arr)
    os.remove(tmp_path / "d.npy")
    with pytest.raises(Exception, match="no such file"):
        read_map_array(tmp_path / "d.npy")


def test_square_crop_and_write_text(tmp_path):
    from depthstyle.io import square_crop, write_text

    assert square_crop(torch.rand(1, 3, 60, 90), 30).shape == (1, 3, 30, 30)
    p = write_text(tmp_path / "a.json", "{}")
    assert p.read_text() == "{}"
    with pytest.raises(OutputExistsError):
        write_text(p, "[]")
    assert write_text(p, "[]", overwrite=True).read_text() == "[]"


def test_16bit_rgb_png(tmp_path):
    """A 48-bit PNG written by hand (PIL cannot write one) loads as RGB in [0, 1]."""
    import struct
    import zlib

    arr = np.zeros((4, 5, 3), np.uint16)
    arr[..., 0], arr[..., 1] = 65535, 32768
    raw = b"".join(b"\x00" + arr[y].astype(">u2").tobytes() for y in range(4))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(
            ">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    (tmp_path / "rgb16.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 5, 4, 16, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    t = load_image(tmp_path / "rgb16.png")
    assert t.shape == (1, 3, 4, 5)
    assert t[0, :, 0, 0].tolist() == pytest.approx([1.0, 0.502, 0.0], abs=0.003)


def test_to_tensor_composites_in_memory_images():
    from depthstyle.io import to_pil, to_tensor

    im = Image.new("RGBA", (3, 2), (255, 0, 0, 0))
    t = to_tensor(im)
    assert t.shape == (1, 3, 2, 3) and torch.allclose(t, torch.ones_like(t))  # over white
    back = to_tensor(to_pil(torch.full((1, 3, 2, 3), 0.5)))
    assert torch.allclose(back, torch.full_like(back, 128 / 255))


def test_bytes_and_files_decode_alike(tmp_path):


    img = make_image(20, 30, 4)
    path = save_image(img, tmp_path / "a.png")
    torch.testing.assert_close(load_image(path.read_bytes()), load_image(path))
    with pytest.raises(ImageReadError, match="^content: "):
        load_image(b"not an image", name="content")
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.save(tmp_path / "m.npy", arr)
    assert np.array_equal(read_map_array((tmp_path / "m.npy").read_bytes()), arr)


@pytest.mark.parametrize("header", [b"Pf\n-4 3\n-1.0\n", b"Pf\n4 0\n-1.0\n", b"Pf\n4 3\n0\n"])
def test_pfm_headers_are_checked(tmp_path, header):
    p = tmp_path / "bad.pfm"
    p.write_bytes(header + b"\0" * 48)
    with pytest.raises(DepthMapError, match="positive|non-zero"):
        read_map_array(p)


def test_complex_npy_is_refused(tmp_path):
    p = tmp_path / "c.npy"
    np.save(p, np.ones((4, 4), dtype=np.complex64))
    with pytest.raises(DepthMapError, match="real numbers"):
        read_map_array(p)


def test_outputs_get_the_usual_file_mode(tmp_path):
    old = os.umask(0o022)
    try:
        p = save_image(make_image(8, 8), tmp_path / "m.png")
    finally:
        os.umask(old)
    assert (p.stat().st_mode & 0o777) == 0o644
