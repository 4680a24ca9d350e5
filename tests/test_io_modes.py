"""Every PIL mode and every map format reads to the values an independent computation expects.

Written against the survivors of the io mutation run (docs/testing.md): the mode lists, the
scaling of 16-bit and float images, the alpha modes, the map formats recognised from bytes,
suffixes in capitals, colour maps turned into luminance, PFM channels, byte order and sizes.
"""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from depthstyle.errors import DepthMapError
from depthstyle.io import load_image_with_alpha, read_map_array, to_tensor

RNG = np.random.default_rng(0)
GREY = RNG.integers(0, 256, (5, 7), dtype=np.uint8)
RGB = RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8)
ALPHA = RNG.integers(0, 256, (5, 7), dtype=np.uint8)


def _bytes(im: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


def _load(im: Image.Image, fmt: str):
    rgb, alpha = load_image_with_alpha(_bytes(im, fmt))
    return rgb[0].permute(1, 2, 0).numpy(), None if alpha is None else alpha[0, 0].numpy()


def test_greyscale_and_colour_modes():
    rgb, alpha = _load(Image.fromarray(GREY, "L"), "PNG")
    np.testing.assert_allclose(rgb, np.repeat(GREY[..., None], 3, 2) / 255, atol=1e-6)
    assert alpha is None
    rgb, alpha = _load(Image.fromarray(RGB, "RGB"), "PNG")
    np.testing.assert_allclose(rgb, RGB / 255, atol=1e-6)
    assert alpha is None
    bw = Image.fromarray(GREY > 127)
    rgb, _ = _load(bw, "PNG")
    np.testing.assert_allclose(rgb[..., 0], (GREY > 127).astype(np.float32))


@pytest.mark.parametrize("mode", ["LA", "RGBA"])
def test_alpha_modes_keep_their_alpha(mode):
    base = GREY if mode == "LA" else RGB
    arr = np.dstack([base, ALPHA]) if mode == "RGBA" else np.dstack([GREY, ALPHA])
    rgb, alpha = _load(Image.fromarray(arr, mode), "PNG")
    expect = np.repeat(GREY[..., None], 3, 2) if mode == "LA" else RGB
    np.testing.assert_allclose(alpha, ALPHA / 255, atol=1e-6)
    np.testing.assert_allclose(rgb, expect / 255, atol=1e-6)


@pytest.mark.parametrize("mode", ["La", "RGBa", "PA"])
def test_premultiplied_and_palette_alpha_modes_in_memory(mode):
    """Modes PIL only has in memory: ``to_tensor`` composites their alpha on white."""
    rgba = Image.fromarray(np.dstack([RGB, ALPHA]), "RGBA")
    im = rgba.convert(mode)
    # PIL un-premultiplies La only by way of LA
    expect_rgba = np.asarray(im.convert("LA" if mode == "La" else mode).convert("RGBA"),
                             dtype=np.float32) / 255
    expect = expect_rgba[..., :3] * expect_rgba[..., 3:] + (1 - expect_rgba[..., 3:])
    got = to_tensor(im)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(got, expect, atol=1e-6)


def test_palette_and_grey_with_a_transparent_colour():
    pal = Image.fromarray(RGB, "RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    rgb, alpha = _load(pal, "PNG")
    assert alpha is None  # no transparency: plain RGB
    np.testing.assert_allclose(rgb, np.asarray(pal.convert("RGB")) / 255, atol=1e-6)
    pal.info["transparency"] = 0
    rgb, alpha = _load(pal, "PNG")
    np.testing.assert_array_equal(alpha == 0, np.asarray(pal) == 0)
    grey = Image.fromarray(GREY, "L")
    grey.info["transparency"] = int(GREY[0, 0])
    rgb, alpha = _load(grey, "PNG")
    np.testing.assert_array_equal(alpha == 0, GREY == GREY[0, 0])
    np.testing.assert_allclose(rgb[..., 1], GREY / 255, atol=1e-6)


def test_cmyk_and_ycbcr_are_converted_by_their_colour_model():
    cmyk = Image.fromarray(RGB, "RGB").convert("CMYK")
    rgb, _ = _load(cmyk, "TIFF")
    np.testing.assert_allclose(rgb, np.asarray(cmyk.convert("RGB")) / 255, atol=1e-6)
    ycc = Image.fromarray(RGB, "RGB").convert("YCbCr")
    got = to_tensor(ycc)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(got, np.asarray(ycc.convert("RGB")) / 255, atol=1e-6)


@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I;16L", "I"])
def test_high_bit_integer_modes_use_their_range(mode):
    values = (GREY.astype(np.uint32) * 257)  # 0..65535
    im = Image.fromarray(values.astype(np.int32), "I").convert(mode) if mode != "I" else \
        Image.fromarray(values.astype(np.int32), "I")
    got = to_tensor(im)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(got[..., 2], values / 65535, atol=1e-6)
    assert got.max() <= 1.0


def test_32_bit_integers_above_16_bits_are_scaled_by_their_maximum():
    values = GREY.astype(np.int32) * 1000  # up to 255000 > 65535
    got = to_tensor(Image.fromarray(values, "I"))[0, 0].numpy()
    np.testing.assert_allclose(got, values / values.max(), atol=1e-6)


@pytest.mark.parametrize("scale", [1.0, 255.0])
def test_float_images_are_read_as_unit_or_8_bit_range(scale):
    values = (GREY / 255.0 * scale).astype(np.float32)
    values[0, 0] = 0.0
    values[0, 1] = scale  # the maximum decides: <= 1 means unit range, else 0-255
    got = to_tensor(Image.fromarray(values, "F"))[0, 1].numpy()
    np.testing.assert_allclose(got, values / scale, atol=1e-6)
    neg = values.copy()
    neg[2, 2] = -5.0  # negative values clip to 0
    assert to_tensor(Image.fromarray(neg, "F"))[0, 0].numpy()[2, 2] == 0.0


def test_float_images_just_above_one_are_read_as_8_bit_and_clipped_above_255():
    values = np.full((3, 3), 0.5, dtype=np.float32)
    values[0, 0] = 1.2  # beyond the unit range: the image is read as 0-255
    got = to_tensor(Image.fromarray(values, "F"))[0, 0].numpy()
    np.testing.assert_allclose(got, values / 255, atol=1e-6)
    values[0, 0] = 300.0
    got = to_tensor(Image.fromarray(values, "F"))[0, 0].numpy()
    assert got[0, 0] == 1.0 and got[1, 1] == pytest.approx(0.5 / 255)


# --- maps ------------------------------------------------------------------------------------

def _pfm(values: np.ndarray, colour: bool, little: bool) -> bytes:
    h, w = values.shape
    data = np.repeat(values[..., None], 3, 2) if colour else values[..., None]
    if colour:
        data = data.copy()
        data[..., 1:] = -7.0  # only the first channel is the map
    order = "<f4" if little else ">f4"
    header = b"PF" if colour else b"Pf"
    return header + f"\n{w} {h}\n{-1.0 if little else 1.0}\n".encode() + \
        data[::-1].astype(order).tobytes()


@pytest.mark.parametrize("colour", [False, True])
@pytest.mark.parametrize("little", [False, True])
def test_pfm_channels_byte_order_and_rows(tmp_path, colour, little):
    values = RNG.uniform(0.5, 80.0, (4, 6)).astype(np.float32)
    data = _pfm(values, colour, little)
    np.testing.assert_array_equal(read_map_array(data), values)  # recognised from the bytes
    (tmp_path / "D.PFM").write_bytes(data)  # the suffix in capitals
    np.testing.assert_array_equal(read_map_array(tmp_path / "D.PFM"), values)
    with pytest.raises(DepthMapError, match="expected 6x4x"):
        read_map_array(data[:-4])
    (tmp_path / "lower.pfm").write_bytes(b"pf" + data[2:])  # the header is case-sensitive
    with pytest.raises(DepthMapError, match="lower.pfm: not a PFM file"):
        read_map_array(tmp_path / "lower.pfm")


@pytest.mark.parametrize("dims", [b"1 1", b"3 1", b"1 2", b"2 2"])
def test_pfm_accepts_the_smallest_sizes(dims):
    """A map one pixel wide or high is still a 2-D map (not squeezed to 1-D and refused)."""
    w, h = (int(x) for x in dims.split())
    values = np.arange(1, w * h + 1, dtype=np.float32).reshape(h, w)
    got = read_map_array(b"Pf\n" + dims + b"\n-1\n" + values[::-1].astype("<f4").tobytes())
    np.testing.assert_array_equal(got, values)


def test_npy_from_bytes_and_capital_suffix_and_no_pickles(tmp_path):
    arr = RNG.uniform(0, 9, (3, 5))
    buf = io.BytesIO()
    np.save(buf, arr)
    np.testing.assert_allclose(read_map_array(buf.getvalue()), arr.astype(np.float32))
    np.save(tmp_path / "m.npy", arr)
    (tmp_path / "m.npy").rename(tmp_path / "M.NPY")
    np.testing.assert_allclose(read_map_array(tmp_path / "M.NPY"), arr.astype(np.float32))
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DepthMapError, match="not a readable .npy"):
        read_map_array(tmp_path / "o.npy")


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "CMYK", "LA", "YCbCr"])
def test_colour_maps_become_luminance(tmp_path, mode):
    base = Image.fromarray(RGB, "RGB")
    im = base.convert(mode) if mode not in ("RGBA", "LA") else \
        Image.fromarray(np.dstack([RGB, ALPHA]), "RGBA").convert(mode)
    fmt = "TIFF" if mode in ("CMYK", "YCbCr") else "PNG"
    if mode == "YCbCr":
        fmt = "JPEG"
    path = tmp_path / f"m.{fmt.lower()}"
    im.save(path, format=fmt, **({"quality": 100} if fmt == "JPEG" else {}))
    with Image.open(path) as back:
        expect = np.asarray(back.convert("L"), dtype=np.float32)
    got = read_map_array(path)
    assert got.shape == (5, 7)
    np.testing.assert_array_equal(got, expect)


def test_map_pixel_limit_is_inclusive_and_names_the_map(tmp_path):
    arr = np.ones((4, 5), dtype=np.float32)
    np.save(tmp_path / "m.npy", arr)
    assert read_map_array(tmp_path / "m.npy", max_pixels=20).shape == (4, 5)
    with pytest.raises(DepthMapError, match="upload.npy: the .npy header declares 20 values, "
                                            "over the limit of 19 pixels"):
        read_map_array((tmp_path / "m.npy").read_bytes(), max_pixels=19, name="upload.npy")
    with pytest.raises(DepthMapError, match="^upload.png: "):
        read_map_array(b"\x89PNG\r\n\x1a\nbroken", name="upload.png")
    assert read_map_array(tmp_path / "m.npy").dtype == np.float32


def test_16_bit_maps_keep_raw_values():
    arr = (GREY.astype(np.uint16) * 250)
    got = read_map_array(_bytes(Image.fromarray(arr), "PNG"))
    np.testing.assert_array_equal(got, arr.astype(np.float32))
    assert torch.from_numpy(got).max() > 255


# --- limits, names, writing ------------------------------------------------------------------

def test_messages_name_the_upload_or_say_bytes():
    from depthstyle.errors import ImageReadError
    from depthstyle.io import load_image

    with pytest.raises(ImageReadError, match=r"^upload\.png: not a recognised image"):
        load_image(b"x", name="upload.png")  # one byte is not "empty"
    with pytest.raises(ImageReadError, match=r"^<bytes>: the file is empty"):
        load_image(b"")
    with pytest.raises(DepthMapError, match=r"^<bytes>: "):
        read_map_array(b"\x93NUMPY broken")


def test_the_pixel_limit_is_inclusive_and_its_message_gives_megapixels(tmp_path):
    from depthstyle.errors import ImageTooLargeError
    from depthstyle.io import load_image

    Image.new("L", (1000, 1000)).save(tmp_path / "one.png")
    Image.new("L", (1001, 1000)).save(tmp_path / "more.png")
    assert load_image(tmp_path / "one.png", max_pixels=1_000_000).shape == (1, 3, 1000, 1000)
    with pytest.raises(ImageTooLargeError,
                       match=r"1001x1000 = 1\.0 MP exceeds the limit of 1\.0 MP"):
        load_image(tmp_path / "more.png", max_pixels=1_000_000)


def test_resize_edges():
    from depthstyle.io import resize_image

    img = torch.rand(1, 3, 2, 200)
    assert resize_image(img, 20).shape[-2:] == (1, 20)  # a side never rounds to 0
    assert resize_image(torch.rand(1, 3, 200, 2), 20).shape[-2:] == (20, 1)
    assert resize_image(img, 1).shape[-2:] == (1, 1)  # one pixel is a valid size
    small = torch.rand(1, 3, 10, 20)
    assert resize_image(small, 40).shape[-2:] == (20, 40)  # enlarges unless told not to
    assert resize_image(small, 40, upscale=False) is small
    assert resize_image(small, None) is small  # nothing to do: the same tensor back
    big = torch.rand(1, 3, 64, 96)
    ref = torch.nn.functional.interpolate(big, size=(32, 48), mode="bicubic",
                                          align_corners=False, antialias=True).clamp(0, 1)
    assert torch.equal(resize_image(big, 48), ref)


def test_square_crop_takes_the_centre():
    from depthstyle.io import square_crop

    wide = torch.arange(30.0).view(1, 1, 1, 30).expand(1, 1, 10, 30) / 30
    crop = square_crop(wide, 10)
    assert crop.shape[-2:] == (10, 10)
    np.testing.assert_allclose(crop[0, 0, 0].numpy(), np.arange(10, 20) / 30, atol=1e-6)
    tall = wide.transpose(-1, -2).contiguous()
    np.testing.assert_allclose(square_crop(tall, 10)[0, 0, :, 0].numpy(),
                               np.arange(10, 20) / 30, atol=1e-6)


def test_to_pil_refuses_batches_and_non_rgb_with_the_right_words():
    from depthstyle.io import to_pil

    with pytest.raises(ValueError, match="batch of 2"):
        to_pil(torch.rand(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"expected \(3, H, W\) RGB, got \(4, 5, 5\)"):
        to_pil(torch.rand(4, 5, 5))
    with pytest.raises(ValueError, match="expected"):
        to_pil(torch.rand(3, 5))


def test_jpeg_and_bmp_drop_alpha_and_quality_defaults_to_95(tmp_path):
    from depthstyle.io import save_image, to_pil

    img = torch.rand(1, 3, 16, 16)
    alpha = torch.rand(1, 1, 16, 16)
    for ext in ("jpg", "bmp"):
        out = save_image(img, tmp_path / f"a.{ext}", alpha=alpha)
        with Image.open(out) as im:
            assert im.mode == "RGB"
    buf = io.BytesIO()
    to_pil(img).save(buf, format="JPEG", quality=95)
    assert save_image(img, tmp_path / "q.jpg").read_bytes() == buf.getvalue()
    low = save_image(img, tmp_path / "low.webp", quality=5).stat().st_size
    high = save_image(img, tmp_path / "high.webp", quality=100).stat().st_size
    assert high > low
    png = save_image(img, tmp_path / "a.png", alpha=alpha)
    with Image.open(png) as im:
        assert im.mode == "RGBA"


def test_umask_is_read_without_changing_it(monkeypatch, tmp_path):
    import os
    from pathlib import Path

    from depthstyle.io import _current_umask

    old = os.umask(0o027)
    try:
        assert _current_umask() == 0o027  # from /proc/self/status
        real = Path.read_text

        def no_proc(self, *a, **k):
            if str(self).startswith("/proc"):
                raise OSError("no /proc here")
            return real(self, *a, **k)

        monkeypatch.setattr(Path, "read_text", no_proc)
        assert _current_umask() == 0o027  # the fallback: set and restore under a lock
        assert os.umask(0o027) == 0o027  # and it was left as it was
    finally:
        os.umask(old)


def test_maps_with_one_channel_first_or_last_are_2d_and_two_channels_are_refused(tmp_path):
    arr = RNG.uniform(0, 9, (3, 4)).astype(np.float32)
    for name, stored in (("first", arr[None]), ("last", arr[..., None])):
        np.save(tmp_path / f"{name}.npy", stored)
        np.testing.assert_array_equal(read_map_array(tmp_path / f"{name}.npy"), arr)
    np.save(tmp_path / "two.npy", np.stack([arr, arr], -1))
    with pytest.raises(DepthMapError, match=r"2-D map .* shape \(3, 4, 2\)"):
        read_map_array(tmp_path / "two.npy")


# -- written against io's remaining mutation survivors ------------------------------------

def test_32_bit_integers_just_above_16_bits_are_scaled_by_their_maximum_exactly():
    from depthstyle.io import load_image

    arr = np.array([[0, 32768], [65536, 16384]], dtype=np.int32)
    got = load_image(_bytes(Image.fromarray(arr, "I"), "TIFF"))[0, 0].numpy()
    np.testing.assert_array_equal(got, np.array([[0.0, 0.5], [1.0, 0.25]], np.float32))


def test_pfm_with_a_zero_side_or_a_small_positive_scale(tmp_path):
    values = np.array([[1.5, 2.5], [3.5, 4.5]], np.float32)
    big_endian = b"Pf\n2 2\n0.5\n" + values[::-1].astype(">f4").tobytes()  # scale > 0: big
    got = read_map_array(big_endian)
    np.testing.assert_array_equal(got, values)
    assert got.dtype == np.dtype("float32") and got.dtype.isnative
    for dims in (b"0 2", b"2 0"):
        with pytest.raises(DepthMapError, match="width and height must be positive"):
            read_map_array(b"Pf\n" + dims + b"\n-1\n")


def test_path_errors_name_the_path_and_megapixels_round_to_a_tenth(tmp_path):
    from depthstyle.errors import ImageTooLargeError
    from depthstyle.io import load_image

    path = tmp_path / "wide.png"
    Image.new("L", (1150, 1000)).save(path)
    with pytest.raises(ImageTooLargeError) as exc:
        load_image(path, max_pixels=1_050_000)
    assert str(exc.value) == (f"{path}: 1150x1000 = 1.1 MP exceeds the limit of 1.1 MP (raise "
                              "it with --max-pixels / max_pixels=)")


def _png_header(width: int, height: int) -> bytes:
    """A PNG signature and IHDR chunk only: enough for PIL to read the size."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    idat = b"IDAT"
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk)) + struct.pack(">I", 0) + idat
            + struct.pack(">I", zlib.crc32(idat)))


def test_a_decompression_bomb_header_is_refused_as_too_large():
    from depthstyle.errors import ImageTooLargeError
    from depthstyle.io import load_image

    bomb = _png_header(10_000, 9_000)  # 90 MP: above PIL's warning threshold, below its error
    with pytest.raises(ImageTooLargeError) as exc:
        load_image(bomb, max_pixels=10**9)
    assert str(exc.value) == "<bytes>: image is too large to decode safely"


def test_square_crop_resizes_the_shorter_side_first():
    from depthstyle.io import resize_image, square_crop

    img = torch.rand(1, 3, 40, 80)
    got = square_crop(img, 20)  # shorter side 40 -> 20, then the centre 20x20
    small = resize_image(img, 40)
    assert got.shape[-2:] == (20, 20)
    assert torch.equal(got, small[..., :, 10:30])


def test_plain_palette_and_premultiplied_alpha_images():
    pal = Image.new("P", (4, 2))
    pal.putpalette([10, 20, 30, 200, 100, 0] + [0] * 762)
    pal.putpixel((1, 0), 1)
    rgb, alpha = _load(pal, "PNG")
    assert alpha is None
    np.testing.assert_allclose(rgb[0, 1], np.array([200, 100, 0]) / 255, atol=1e-6)
    np.testing.assert_allclose(rgb[1, 1], np.array([10, 20, 30]) / 255, atol=1e-6)
    mem = to_tensor(pal)  # in memory: the palette is applied by _to_rgb_alpha itself
    np.testing.assert_allclose(mem[0, :, 0, 1].numpy(), np.array([200, 100, 0]) / 255, atol=1e-6)
    la = Image.new("La", (3, 2), (0, 128))  # black at half opacity, in memory
    np.testing.assert_allclose(to_tensor(la).numpy(), 1 - 128 / 255, atol=1e-6)  # on white


def test_native_16_bit_images_in_memory_and_bmp_without_alpha_bits(tmp_path):
    from depthstyle.io import save_image

    native = Image.new("I;16N", (3, 2), 30000)
    np.testing.assert_allclose(to_tensor(native).numpy(), 30000 / 65535, atol=1e-6)
    out = save_image(torch.rand(1, 3, 4, 4), tmp_path / "a.bmp", alpha=torch.rand(1, 1, 4, 4))
    assert int.from_bytes(out.read_bytes()[28:30], "little") == 24  # bits per pixel: no alpha
