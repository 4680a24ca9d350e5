"""Depth stored inside a photo: Google Camera's GDepth XMP in JPEG files.

Portrait and lens-blur photos of Google Camera (and apps that follow its "depth map" XMP
profile) carry a depth image in the JPEG's XMP metadata:

* the standard XMP packet (an APP1 segment starting ``http://ns.adobe.com/xap/1.0/``) holds the
  ``GDepth`` properties ``Format`` (``RangeInverse`` or ``RangeLinear``), ``Near``, ``Far``,
  ``Mime`` and, when the image is small enough, ``Data``;
* larger depth images are in the *extended* XMP: APP1 segments starting
  ``http://ns.adobe.com/xmp/extension/``, each with a 32-character GUID, the full length and
  the chunk's offset, that concatenate to a second packet holding ``GDepth:Data``.

``Data`` is a base64 PNG or JPEG whose values ``v`` in [0, 1] encode depth ``d`` between
``Near`` and ``Far``: linearly (``RangeLinear``: ``v = (d - near) / (far - near)``) or in
inverse depth (``RangeInverse``: ``v = far (d - near) / (d (far - near))``). Both grow with
distance; :func:`read_gdepth` returns metric depth, so proximity comes out right either way.

Android's **Dynamic Depth** photos (:func:`read_dynamic_depth`) keep the depth image as a
separate *item* appended after the primary JPEG: the primary's XMP lists the items in order in
``Container:Directory`` (``Item:Mime``, ``Item:Length``, ``Item:Padding``, ``Item:DataURI``),
and a ``DepthMap`` element gives ``Format``, ``Near``, ``Far`` and the ``DepthURI`` of its item.
The same encodings as GDepth apply.

HEIC auxiliary depth images are not read (no package here can write such a file to test it).

Embedded depth obeys the image limits: the depth image's declared size is checked against the
pixel limit (:data:`depthstyle.io.DEFAULT_MAX_PIXELS`) before it is decoded, and photos over
:data:`MAX_PHOTO_BYTES` are not searched for depth.
"""

from __future__ import annotations

import base64
import io
import os
import re
import warnings
from pathlib import Path

import numpy as np

from depthstyle.io import DEFAULT_MAX_PIXELS

__all__ = ["read_gdepth", "read_dynamic_depth", "read_embedded_depth", "GDEPTH_NS",
           "MAX_PHOTO_BYTES"]

MAX_PHOTO_BYTES = 256 * 1024 * 1024  # a photo larger than this is not read whole for its depth

GDEPTH_NS = "http://ns.google.com/photos/1.0/depthmap/"
_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_EXT = b"http://ns.adobe.com/xmp/extension/\x00"


def _app1_segments(data: bytes) -> list[bytes]:
    """Payloads of the JPEG's APP1 segments (stops at the start of scan)."""
    if data[:2] != b"\xff\xd8":
        return []
    out, i = [], 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker in (0xD9, 0xDA):  # end of image / start of scan: no metadata after this
            break
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        length = int.from_bytes(data[i + 2: i + 4], "big")
        if length < 2 or i + 2 + length > len(data):
            break
        if marker == 0xE1:
            out.append(data[i + 4: i + 2 + length])
        i += 2 + length
    return out


def _attr(xmp: str, name: str, prefix: str = "GDepth") -> str | None:
    """``<prefix>:<name>`` as an attribute (``GDepth:Near="1.5"``) or an element."""
    m = re.search(rf'{prefix}:{name}\s*=\s*"([^"]*)"', xmp) or \
        re.search(rf"<{prefix}:{name}>([^<]*)</{prefix}:{name}>", xmp)
    return m.group(1).strip() if m else None


def _decode_range(image_bytes: bytes, fmt: str | None, near: str | None, far: str | None,
                  what: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Metric depth from an encoded depth image and its range parameters (module doc)."""
    from PIL import Image

    try:
        near_f, far_f = float(near), float(far)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{what}: Near/Far missing or not numbers ({near!r}, {far!r})") \
            from None
    if not (np.isfinite(near_f) and np.isfinite(far_f) and 0 <= near_f < far_f):
        raise ValueError(f"{what}: need 0 <= Near < Far, got Near={near_f}, Far={far_f}")
    if fmt not in ("RangeInverse", "RangeLinear"):
        raise ValueError(f"{what}: unknown Format {fmt!r} (RangeInverse or RangeLinear)")
    try:
        with warnings.catch_warnings():  # the size is checked below, before any decoding
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(image_bytes))
    except Image.DecompressionBombError:
        raise ValueError(f"{what}: the depth image is over Pillow's decompression-bomb limit "
                         f"(and the limit of {max_pixels:,} pixels); refused before decoding it"
                         ) from None
    except Exception as exc:  # noqa: BLE001 - any decoding problem is a bad depth image
        raise ValueError(f"{what}: the depth image cannot be decoded ({exc})") from None
    w, h = im.size
    if w * h > max_pixels:
        im.close()
        raise ValueError(f"{what}: the depth image is {w}x{h} ({w * h:,} pixels), over the limit "
                         f"of {max_pixels:,} pixels; refused before decoding it")
    try:
        with im:
            wide = im.mode in ("I;16", "I;16B", "I")
            arr = np.asarray(im.convert("I") if wide else im.convert("L"), dtype=np.float64)
            scale = 65535.0 if wide else 255.0
    except Exception as exc:  # noqa: BLE001 - any decoding problem is a bad depth image
        raise ValueError(f"{what}: the depth image cannot be decoded ({exc})") from None
    v = np.clip(arr / scale, 0.0, 1.0)
    if fmt == "RangeLinear":
        return near_f + v * (far_f - near_f)
    if near_f == 0:
        raise ValueError(f"{what}: RangeInverse needs Near > 0")
    return far_f * near_f / (far_f - v * (far_f - near_f))


def _packets(data: bytes) -> tuple[str, str]:
    """The standard XMP packet and the reassembled extended packet (or empty strings)."""
    main, chunks = "", {}
    for seg in _app1_segments(data):
        if seg.startswith(_XMP):
            main = seg[len(_XMP):].decode("utf-8", "replace")
        elif seg.startswith(_XMP_EXT) and len(seg) >= len(_XMP_EXT) + 40:
            body = seg[len(_XMP_EXT):]
            guid = body[:32].decode("ascii", "replace")
            offset = int.from_bytes(body[36:40], "big")
            chunks.setdefault(guid, {})[offset] = body[40:]
    ext = ""
    if chunks:
        want = re.search(r'xmpNote:HasExtendedXMP\s*=\s*"([0-9A-Fa-f]{32})"', main)
        parts = chunks.get(want.group(1)) if want else None
        parts = parts or next(iter(chunks.values()))
        ext = b"".join(parts[k] for k in sorted(parts)).decode("utf-8", "replace")
    return main, ext


def read_gdepth(source: str | os.PathLike | bytes, max_pixels: int = DEFAULT_MAX_PIXELS
                ) -> np.ndarray | None:
    """Metric depth (H, W) float64 stored in a JPEG's GDepth XMP, or ``None`` if there is none.

    Raises:
        ValueError: the photo declares a depth map that cannot be decoded (named in the
            message), e.g. a bad ``Format``, ``Near >= Far`` or unreadable ``Data``.
    """
    data = _photo_bytes(source)
    main, ext = _packets(data)
    if "GDepth:" not in main and "GDepth:" not in ext:
        return None
    meta = main + ext
    payload = _attr(ext, "Data") or _attr(main, "Data")
    if payload is None:
        return None  # depth properties without an image: nothing to use
    try:
        image = base64.b64decode(re.sub(r"\s+", "", payload))
    except ValueError:
        raise ValueError("GDepth: Data is not base64") from None
    return _decode_range(image, _attr(meta, "Format"), _attr(meta, "Near"), _attr(meta, "Far"),
                         "GDepth", max_pixels)


_ITEM = re.compile(r"<Container:Item\b([^>]*?)/?>", re.S)


def read_dynamic_depth(source: str | os.PathLike | bytes, max_pixels: int = DEFAULT_MAX_PIXELS
                       ) -> np.ndarray | None:
    """Metric depth (H, W) from an Android Dynamic Depth JPEG, or ``None`` if it has none.

    Raises:
        ValueError: the photo declares a depth item that cannot be found or decoded.
    """
    data = _photo_bytes(source)
    main, _ = _packets(data)
    items = [dict(re.findall(r'Item:(\w+)\s*=\s*"([^"]*)"', m.group(1)))
             for m in _ITEM.finditer(main)]
    uri = _attr(main, "DepthURI", "DepthMap")
    if len(items) < 2 or uri is None:
        return None
    try:
        sizes = [int(it.get("Length", 0) or 0) + int(it.get("Padding", 0) or 0)
                 for it in items[1:]]
    except ValueError:
        raise ValueError("Dynamic Depth: an item's Length or Padding is not a number") from None
    start = len(data) - sum(sizes)  # the items follow the primary image, in directory order
    if start <= 0 or any(n < 0 for n in sizes):
        raise ValueError("Dynamic Depth: the items listed are larger than the file")
    for it, n in zip(items[1:], sizes, strict=True):
        pad = int(it.get("Padding", 0) or 0)
        if it.get("DataURI") == uri:
            blob = data[start + pad: start + n]
            return _decode_range(blob, _attr(main, "Format", "DepthMap"),
                                 _attr(main, "Near", "DepthMap"),
                                 _attr(main, "Far", "DepthMap"), "Dynamic Depth", max_pixels)
        start += n
    raise ValueError(f"Dynamic Depth: no item with DataURI {uri!r}")


def read_embedded_depth(source: str | os.PathLike | bytes,
                        max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, str] | None:
    """Depth stored in a photo, GDepth or Dynamic Depth: ``(metric depth, format)`` or None.

    Raises:
        ValueError: a declared depth map that cannot be used (too large, undecodable, bad
            parameters), or a photo over :data:`MAX_PHOTO_BYTES`.
    """
    data = _photo_bytes(source)
    for fmt, reader in (("GDepth", read_gdepth), ("Dynamic Depth", read_dynamic_depth)):
        values = reader(data, max_pixels)
        if values is not None:
            return values, fmt
    return None


def _photo_bytes(source: str | os.PathLike | bytes) -> bytes:
    """A photo's bytes, refusing files over :data:`MAX_PHOTO_BYTES` before reading them."""
    if isinstance(source, bytes):
        return source  # read_embedded_depth hands its bytes to each reader: no copy
    if isinstance(source, (bytearray, memoryview)):
        return bytes(source)
    size = Path(source).stat().st_size
    if size > MAX_PHOTO_BYTES:
        raise ValueError(f"the photo is {size:,} bytes, over the {MAX_PHOTO_BYTES:,} bytes read "
                         "to look for embedded depth")
    return Path(source).read_bytes()
