"""Property-based tests (Hypothesis): any input gives a valid output or one clear error.

Images of random modes, bit depths, formats and sizes (1x1 and extreme aspect ratios included),
possibly truncated; depth arrays of random dtypes, shapes and values (NaN, inf, huge,
negative); web form values of any text. The property: a valid result, or a
:class:`~depthstyle.errors.DepthStyleError` whose message is one line naming the input; never
another exception, a traceback, a 500 or a partial file.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from depthstyle.depth import DepthMapFile
from depthstyle.errors import DepthStyleError
from depthstyle.io import load_image
from depthstyle.pipeline import StyleSettings, Stylizer

FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

# (mode, formats that can store it)
MODES = {
    "1": ("PNG", "TIFF", "BMP"), "L": ("PNG", "JPEG", "TIFF", "WEBP", "BMP"),
    "LA": ("PNG", "TIFF"), "P": ("PNG", "TIFF", "BMP"), "RGB": ("PNG", "JPEG", "TIFF", "WEBP",
                                                               "BMP"),
    "RGBA": ("PNG", "TIFF", "WEBP"), "CMYK": ("JPEG", "TIFF"), "I;16": ("PNG", "TIFF"),
    "I": ("TIFF",), "F": ("TIFF",),
}
SIZES = st.one_of(
    st.tuples(st.integers(1, 40), st.integers(1, 40)),
    st.tuples(st.integers(1, 3), st.integers(500, 3000)),  # extreme aspect ratios
    st.tuples(st.integers(500, 3000), st.integers(1, 3)),
)


@st.composite
def image_files(draw):
    mode = draw(st.sampled_from(sorted(MODES)))
    fmt = draw(st.sampled_from(MODES[mode]))
    w, h = draw(SIZES)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if mode in ("I;16", "I", "F"):
        kind = {"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode]
        hi = {"I;16": 65535, "I": 2**20, "F": 1e6}[mode]
        arr = (rng.random((h, w)) * hi).astype(kind)
        im = Image.fromarray(arr)
        if mode == "I;16":
            im = Image.frombytes("I;16", (w, h), arr.astype("<u2").tobytes())
    else:
        im = Image.fromarray((rng.random((h, w, 3)) * 255).astype(np.uint8)).convert(mode)
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    data = buf.getvalue()
    if draw(st.booleans()) and len(data) > 20:  # truncated download / broken copy
        data = data[: draw(st.integers(1, len(data) - 1))]
    return mode, fmt, (w, h), data


def assert_one_line_naming(exc: Exception, name: str) -> None:
    msg = str(exc)
    assert msg and "\n" not in msg and name in msg, msg
    assert "Traceback" not in msg


@pytest.fixture(scope="module")
def small_stylizer(request):
    from depthstyle.models import StyleModel, build_decoder, build_encoder

    enc = build_encoder("lite0")
    torch.manual_seed(0)
    model = StyleModel(enc, build_decoder(enc, (8, 8, 8, 8)).eval(), "tiny", decode_level=2)
    return Stylizer(model, device="cpu", depth=None)


@FAST
@given(image_files())
def test_any_image_loads_or_fails_with_one_clear_line(small_stylizer, case):
    mode, fmt, (w, h), data = case
    try:
        img = load_image(data, name="upload.img")
    except DepthStyleError as exc:
        assert_one_line_naming(exc, "upload.img")
        return
    assert img.shape == (1, 3, h, w) and img.dtype == torch.float32
    assert torch.isfinite(img).all() and float(img.min()) >= 0 and float(img.max()) <= 1
    out = small_stylizer(img, img, StyleSettings(content_size=64, style_size=64)).image
    assert out.shape[:2] == (1, 3) and torch.isfinite(out).all()
    assert float(out.min()) >= 0 and float(out.max()) <= 1


DTYPES = [np.float32, np.float64, np.float16, np.int16, np.uint8, np.uint16, np.int64,
          np.bool_, np.complex64]
SPECIAL = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -1.0, 1e30, -1e30, 1e-30])


@st.composite
def depth_arrays(draw):
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(st.one_of(st.tuples(st.integers(1, 30), st.integers(1, 30)),
                           st.tuples(st.integers(1, 3), st.integers(1, 20), st.integers(1, 20)),
                           st.tuples(st.integers(1, 40))))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    arr = rng.random(shape) * draw(st.sampled_from([1.0, 255.0, 1e4, -5.0]))
    for _ in range(draw(st.integers(0, 4))):
        idx = tuple(draw(st.integers(0, s - 1)) for s in shape)
        arr[idx] = draw(SPECIAL)
    if draw(st.booleans()):
        arr[...] = draw(SPECIAL)  # all the same (constant, all-NaN, all-inf)
    with np.errstate(all="ignore"):
        return arr.astype(dtype)


@FAST
@given(depth_arrays())
def test_any_depth_array_gives_proximity_or_one_clear_line(arr):
    buf = io.BytesIO()
    np.save(buf, arr)
    for kind in ("depth", "disparity"):
        try:
            src = DepthMapFile(buf.getvalue(), kind, name="map.npy")
        except DepthStyleError as exc:
            assert_one_line_naming(exc, "map.npy")
            continue
        p = src(torch.zeros(1, 3, *src.size))
        assert torch.isfinite(p).all() and float(p.min()) >= 0 and float(p.max()) <= 1


FIELDS = ["alpha", "offset", "contrast", "size", "levels", "strength", "depth_kind", "invert",
          "detail", "preserve_color", "format"]
VALUES = st.one_of(st.text(max_size=12), st.sampled_from(
    ["-1", "0", "1", "0.5", "1e309", "nan", "inf", "-0", "99999999999999999999", "true",
     "1,2,3", "expand5", "learned", "json", " ", "\x00", "１"]))


@pytest.fixture(scope="module")
def web_client(small_stylizer):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from depthstyle.web import create_app

    with TestClient(create_app(small_stylizer), base_url="http://127.0.0.1") as c:
        yield c


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=4))
def test_any_form_values_give_an_answer_never_a_500(web_client, form):
    rng = np.random.default_rng(0)
    png = io.BytesIO()
    Image.fromarray((rng.random((24, 32, 3)) * 255).astype(np.uint8)).save(png, format="PNG")
    files = {"content": ("c.png", png.getvalue(), "image/png"),
             "style": ("s.png", png.getvalue(), "image/png")}
    r = web_client.post("/api/stylize", files=files, data=form)
    assert r.status_code in (200, 413, 415, 422, 503), (form, r.status_code, r.text)
    if r.status_code != 200:
        err = r.json()["error"]
        assert err["status"] == r.status_code and err["message"] and "\n" not in err["message"]
