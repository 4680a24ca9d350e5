"""Depth stored in the photo: JPEGs with Google Camera GDepth XMP, built here in that format."""

import base64
import io
import logging
import uuid

import numpy as np
import pytest
import torch
from PIL import Image

from depthstyle.depth import AutoDepth, origin_of
from depthstyle.depth.embedded import read_dynamic_depth, read_embedded_depth, read_gdepth


def _app1(payload: bytes) -> bytes:
    assert len(payload) + 2 < 65536
    return b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload


def gdepth_jpeg(depth: np.ndarray, near: float, far: float, fmt: str = "RangeInverse", *,
                chunk: int = 60_000, noise_kb: int = 0, png_bytes: bytes | None = None,
                **overrides) -> bytes:
    """A JPEG photo with its depth in GDepth XMP: properties in the standard packet, the PNG in
    the extended packet split over APP1 segments (as Google Camera writes it)."""
    if fmt == "RangeLinear":
        v = (depth - near) / (far - near)
    else:
        v = far * (depth - near) / (depth * (far - near))
    png = io.BytesIO()
    Image.fromarray(np.round(np.clip(v, 0, 1) * 255).astype(np.uint8)).save(png, format="PNG")
    if noise_kb:  # a larger payload: a PNG text chunk of random bytes
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        info.add_text("pad", base64.b64encode(np.random.default_rng(0).bytes(noise_kb * 1024))
                      .decode())
        png = io.BytesIO()
        Image.fromarray(np.round(np.clip(v, 0, 1) * 255).astype(np.uint8)).save(
            png, format="PNG", pnginfo=info)
    if png_bytes is not None:  # a depth image made by the caller
        png = io.BytesIO(png_bytes)
    guid = uuid.uuid4().hex.upper()
    props = {"Format": fmt, "Near": str(near), "Far": str(far), "Mime": "image/png", **overrides}
    attrs = " ".join(f'GDepth:{k}="{v}"' for k, v in props.items())
    main = (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
            f'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
            f'xmlns:GDepth="http://ns.google.com/photos/1.0/depthmap/" '
            f'xmlns:xmpNote="http://ns.adobe.com/xmp/note/" {attrs} '
            f'xmpNote:HasExtendedXMP="{guid}"/></rdf:RDF></x:xmpmeta>').encode()
    ext = (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
           f'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
           f'xmlns:GDepth="http://ns.google.com/photos/1.0/depthmap/" GDepth:Data="'
           f'{base64.b64encode(png.getvalue()).decode()}"/></rdf:RDF></x:xmpmeta>').encode()
    segs = [_app1(b"http://ns.adobe.com/xap/1.0/\x00" + main)]
    for off in range(0, len(ext), chunk):
        segs.append(_app1(b"http://ns.adobe.com/xmp/extension/\x00" + guid.encode()
                          + len(ext).to_bytes(4, "big") + off.to_bytes(4, "big")
                          + ext[off: off + chunk]))
    photo = io.BytesIO()
    h, w = depth.shape
    Image.fromarray((np.random.default_rng(1).random((h, w, 3)) * 255).astype(np.uint8)).save(
        photo, format="JPEG")
    data = photo.getvalue()
    return data[:2] + b"".join(segs) + data[2:]


def ramp(h=48, w=64, near=0.5, far=4.0):
    return np.tile(np.linspace(near, far, w), (h, 1))  # left near, right far


@pytest.mark.parametrize("fmt", ["RangeInverse", "RangeLinear"])
def test_gdepth_decodes_metric_depth(fmt):
    d = ramp()
    got = read_gdepth(gdepth_jpeg(d, 0.5, 4.0, fmt))
    assert got.shape == d.shape
    # 8-bit quantisation of the normalised value: within a step of the range at that depth
    step = (4.0 - 0.5) / 255 if fmt == "RangeLinear" else d * d * (4.0 - 0.5) / (4.0 * 0.5) / 255
    assert np.all(np.abs(got - d) <= step + 1e-9)


def test_extended_xmp_over_many_segments_is_reassembled():
    data = gdepth_jpeg(ramp(), 0.5, 4.0, chunk=20_000, noise_kb=90)
    assert data.count(b"http://ns.adobe.com/xmp/extension/") >= 5
    assert np.corrcoef(read_gdepth(data).ravel(), ramp().ravel())[0, 1] > 0.999


def test_plain_jpeg_and_other_files_have_no_embedded_depth(tmp_path):
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="JPEG")
    assert read_gdepth(buf.getvalue()) is None
    assert read_gdepth(b"not a jpeg") is None


@pytest.mark.parametrize("overrides, pattern", [
    ({"Near": "5", "Far": "1"}, "Near < Far"),
    ({"Format": "Cubic"}, "unknown Format"),
    ({"Near": "x"}, "not numbers"),
])
def test_bad_gdepth_is_a_clear_error(overrides, pattern):
    with pytest.raises(ValueError, match=pattern):
        read_gdepth(gdepth_jpeg(ramp(), 0.5, 4.0, **overrides))


def test_auto_depth_reads_it_and_says_so(tmp_path):
    photo = tmp_path / "portrait.jpg"
    photo.write_bytes(gdepth_jpeg(ramp(), 0.5, 4.0))
    src = AutoDepth("no-such-model").resolve(photo)
    origin = origin_of(src)
    assert origin.source == "embedded" and origin.kind == "depth"
    assert "depth stored in portrait.jpg (GDepth)" in origin.describe()
    p = src(torch.zeros(1, 3, 48, 64))[0, 0]
    assert p[:, :8].mean() > p[:, -8:].mean() + 0.5  # left is near


def test_a_map_beside_the_photo_comes_first(tmp_path):
    photo = tmp_path / "portrait.jpg"
    photo.write_bytes(gdepth_jpeg(ramp(), 0.5, 4.0))
    Image.fromarray(np.zeros((48, 64), np.uint8) + 9).save(tmp_path / "portrait.depth.png")
    assert origin_of(AutoDepth().resolve(photo)).source == "beside"


def test_broken_embedded_depth_falls_through_with_a_warning(tmp_path, caplog):
    photo = tmp_path / "portrait.jpg"
    photo.write_bytes(gdepth_jpeg(ramp(), 0.5, 4.0, Near="9"))
    auto = AutoDepth("no-such-model")
    with caplog.at_level(logging.WARNING, logger="depthstyle"):
        src = auto.resolve(photo)
    assert src is auto  # the next source in the order (here: no model, so uniform)
    assert "embedded depth map is not usable" in caplog.text and "Near < Far" in caplog.text


def test_cli_uses_the_embedded_depth(tmp_path, capfd):
    from depthstyle.cli import main

    photo = tmp_path / "portrait.jpg"
    photo.write_bytes(gdepth_jpeg(ramp(), 0.5, 4.0))
    assert main(["stylize", str(photo), "-s", str(photo), "-o", str(tmp_path / "o.png"),
                 "--content-size", "64"]) == 0
    assert "portrait.jpg: depth from the depth stored in portrait.jpg (GDepth), read as depth" in \
        capfd.readouterr().err


def dynamic_depth_jpeg(depth: np.ndarray, near: float, far: float, fmt: str = "RangeLinear", *,
                       bits: int = 16, padding: int = 0, uri: str = "android/depthmap") -> bytes:
    """An Android Dynamic Depth JPEG: the primary image's XMP lists the items (primary, then
    the depth PNG appended after the primary JPEG), and a DepthMap element gives its encoding."""
    v = (depth - near) / (far - near) if fmt == "RangeLinear" else \
        far * (depth - near) / (depth * (far - near))
    top = 65535 if bits == 16 else 255
    q = np.round(np.clip(v, 0, 1) * top).astype(np.uint16 if bits == 16 else np.uint8)
    png = io.BytesIO()
    (Image.frombytes("I;16", q.shape[::-1], q.astype("<u2").tobytes()) if bits == 16 else
     Image.fromarray(q)).save(png, format="PNG")
    item = png.getvalue()
    xmp = (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
           f'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
           f'xmlns:Device="http://ns.google.com/photos/dd/1.0/device/" '
           f'xmlns:Container="http://ns.google.com/photos/dd/1.0/container/" '
           f'xmlns:Item="http://ns.google.com/photos/dd/1.0/item/" '
           f'xmlns:DepthMap="http://ns.google.com/photos/dd/1.0/depthmap/">'
           f'<Device:Container><Container:Directory><rdf:Seq>'
           f'<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="image/jpeg" '
           f'Item:Semantic="Primary"/></rdf:li>'
           f'<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="image/png" '
           f'Item:Semantic="Depth" Item:Length="{len(item)}" Item:Padding="{padding}" '
           f'Item:DataURI="{uri}"/></rdf:li></rdf:Seq></Container:Directory>'
           f'</Device:Container><Device:Cameras><rdf:Seq><rdf:li rdf:parseType="Resource">'
           f'<Camera:DepthMap xmlns:Camera="http://ns.google.com/photos/dd/1.0/camera/">'
           f'<rdf:Description DepthMap:ItemSemantic="Depth" DepthMap:Format="{fmt}" '
           f'DepthMap:Near="{near}" DepthMap:Far="{far}" DepthMap:Units="Meters" '
           f'DepthMap:DepthURI="android/depthmap"/></Camera:DepthMap></rdf:li></rdf:Seq>'
           f'</Device:Cameras></rdf:Description></rdf:RDF></x:xmpmeta>').encode()
    photo = io.BytesIO()
    h, w = depth.shape
    Image.fromarray((np.random.default_rng(2).random((h, w, 3)) * 255).astype(np.uint8)).save(
        photo, format="JPEG")
    data = photo.getvalue()
    primary = data[:2] + _app1(b"http://ns.adobe.com/xap/1.0/\x00" + xmp) + data[2:]
    return primary + b"\x00" * padding + item


@pytest.mark.parametrize("fmt, bits", [("RangeLinear", 16), ("RangeInverse", 16),
                                       ("RangeLinear", 8)])
def test_dynamic_depth_item_is_found_and_decoded(fmt, bits):
    d = ramp()
    got = read_dynamic_depth(dynamic_depth_jpeg(d, 0.5, 4.0, fmt, bits=bits, padding=7))
    assert got.shape == d.shape
    tol = 0.02 if bits == 16 else 0.25
    assert np.abs(got - d).max() < tol
    assert read_embedded_depth(dynamic_depth_jpeg(d, 0.5, 4.0))[1] == "Dynamic Depth"


def test_dynamic_depth_with_a_missing_item_is_a_clear_error():
    with pytest.raises(ValueError, match="no item with DataURI"):
        read_dynamic_depth(dynamic_depth_jpeg(ramp(), 0.5, 4.0, uri="android/other"))
    assert read_dynamic_depth(gdepth_jpeg(ramp(), 0.5, 4.0)) is None  # not Dynamic Depth


def test_auto_depth_reads_dynamic_depth(tmp_path):
    photo = tmp_path / "pixel.jpg"
    photo.write_bytes(dynamic_depth_jpeg(ramp(), 0.5, 4.0))
    src = AutoDepth("no-such-model").resolve(photo)
    assert origin_of(src).describe() == \
        "depth from the depth stored in pixel.jpg (Dynamic Depth), read as depth"
    p = src(torch.zeros(1, 3, 48, 64))[0, 0]
    assert p[:, :8].mean() > p[:, -8:].mean() + 0.5
