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

Android's Dynamic Depth format (depth as a separate item appended to the JPEG) and HEIC
auxiliary depth images are not read.
"""

from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path

import numpy as np

__all__ = ["read_gdepth", "GDEPTH_NS"]

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


def _attr(xmp: str, name: str) -> str | None:
    """``GDepth:<name>`` as an attribute (``GDepth:Near="1.5"``) or an element."""
    m = re.search(rf'GDepth:{name}\s*=\s*"([^"]*)"', xmp) or \
        re.search(rf"<GDepth:{name}>([^<]*)</GDepth:{name}>", xmp)
    return m.group(1).strip() if m else None


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


def read_gdepth(source: str | os.PathLike | bytes) -> np.ndarray | None:
    """Metric depth (H, W) float64 stored in a JPEG's GDepth XMP, or ``None`` if there is none.

    Raises:
        ValueError: the photo declares a depth map that cannot be decoded (named in the
            message), e.g. a bad ``Format``, ``Near >= Far`` or unreadable ``Data``.
    """
    from PIL import Image

    data = source if isinstance(source, (bytes, bytearray)) else Path(source).read_bytes()
    main, ext = _packets(bytes(data))
    if "GDepth:" not in main and "GDepth:" not in ext:
        return None
    meta = main + ext
    fmt, near, far = _attr(meta, "Format"), _attr(meta, "Near"), _attr(meta, "Far")
    payload = _attr(ext, "Data") or _attr(main, "Data")
    if payload is None:
        return None  # depth properties without an image: nothing to use
    try:
        near_f, far_f = float(near), float(far)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"GDepth: Near/Far missing or not numbers ({near!r}, {far!r})") from None
    if not (np.isfinite(near_f) and np.isfinite(far_f) and 0 <= near_f < far_f):
        raise ValueError(f"GDepth: need 0 <= Near < Far, got Near={near_f}, Far={far_f}")
    if fmt not in ("RangeInverse", "RangeLinear"):
        raise ValueError(f"GDepth: unknown Format {fmt!r} (RangeInverse or RangeLinear)")
    try:
        with Image.open(io.BytesIO(base64.b64decode(re.sub(r"\s+", "", payload)))) as im:
            arr = np.asarray(im.convert("I") if im.mode in ("I;16", "I;16B", "I") else
                             im.convert("L"), dtype=np.float64)
            scale = 65535.0 if im.mode.startswith("I") else 255.0
    except Exception as exc:  # noqa: BLE001 - any decoding problem is a bad depth image
        raise ValueError(f"GDepth: the depth image cannot be decoded ({exc})") from None
    v = np.clip(arr / scale, 0.0, 1.0)
    if fmt == "RangeLinear":
        return near_f + v * (far_f - near_f)
    if near_f == 0:
        raise ValueError("GDepth: RangeInverse needs Near > 0")
    return far_f * near_f / (far_f - v * (far_f - near_f))
