"""HTTP API of the web app: results, limits and one test per error class."""

from __future__ import annotations

import asyncio
import io
import re
import time

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import make_image
from depthstyle.io import to_pil
from depthstyle.pipeline import StyleSettings, Stylizer
from depthstyle.weights import resolve_name

fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from depthstyle.web import WebConfig, create_app  # noqa: E402
from depthstyle.web.limits import JobQueue, JobTimeoutError, QueueFullError  # noqa: E402


@pytest.fixture(scope="module")
def stylizer():
    return Stylizer("depthstyle-lite0", device="cpu")


@pytest.fixture(scope="module")
def client(stylizer):
    with TestClient(create_app(stylizer), base_url=LOCAL) as c:
        yield c


LOCAL = "http://127.0.0.1"  # the Host the server accepts by default


def png_bytes(img: torch.Tensor) -> bytes:
    buf = io.BytesIO()
    to_pil(img).save(buf, format="PNG")
    return buf.getvalue()


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32) / 255


def data_url_array(url: str) -> np.ndarray:
    import base64

    assert url.startswith("data:image/png;base64,")
    return decode(base64.b64decode(url.split(",", 1)[1]))


def uploads(h=48, w=64):
    return {"content": ("photo.png", png_bytes(make_image(h, w, 1)), "image/png"),
            "style": ("paint.png", png_bytes(make_image(40, 40, 2)), "image/png")}


def assert_error(r, status: int, kind: str, pattern: str = ""):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"]["status"] == status and body["error"]["type"] == kind, body
    assert re.search(pattern, body["error"]["message"]), body["error"]["message"]


# --- what works --------------------------------------------------------------------------------

def test_catalogue_endpoints(client):
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["model"] == resolve_name("depthstyle-lite0")
    assert health["defaults"] == {"alpha": 1.0, "offset": 0.2, "contrast": 10.0,
                                  "texture_match": 1.0}
    styles = client.get("/api/styles").json()
    assert {s["id"] for s in styles} >= {"woman_with_hat", "mondrian"}
    assert all(s["credit"] for s in styles)
    r = client.get(styles[0]["url"])
    assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size[0] > 100
    examples = client.get("/api/examples").json()
    books = next(e for e in examples if e["id"] == "books")
    assert books["has_depth"] is True and books["depth_kind"] == "disparity"
    # counts are integers, not floats
    assert all(isinstance(health["queue"][k], int) for k in ("workers", "running", "completed"))
    models = client.get("/api/models").json()
    loaded = [m for m in models if m["loaded"]]
    assert len(loaded) == 1 and loaded[0]["levels"] == ["expand1", "expand3", "expand5"]
    assert {m["name"] for m in models} >= {resolve_name("depthstyle-lite0"), "vgg19-adain"}


def test_stylize_matches_the_python_api(client, stylizer):
    """The API runs the same engine as the CLI: same pixels up to 8-bit rounding."""
    files = uploads()
    r = client.post("/api/stylize", files=files, data={"alpha": "0.7", "strength": "uniform"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    got = decode(r.content)
    content = torch.from_numpy(decode(files["content"][1])).permute(2, 0, 1)[None]
    style = torch.from_numpy(decode(files["style"][1])).permute(2, 0, 1)[None]
    ref = stylizer(content, style, StyleSettings(alpha=0.7, depth_aware=False)).image
    want = ref[0].permute(1, 2, 0).numpy()
    assert got.shape == want.shape == (48, 64, 3)
    assert np.abs(got - want).max() <= 1.5 / 255


def test_texture_match_field_reaches_the_pipeline(client, stylizer):
    files = uploads()
    content = torch.from_numpy(decode(files["content"][1])).permute(2, 0, 1)[None]
    style = torch.from_numpy(decode(files["style"][1])).permute(2, 0, 1)[None]
    got = {}
    for amount in ("0", "0.5"):
        r = client.post("/api/stylize", files=uploads(),
                        data={"strength": "uniform", "texture_match": amount})
        assert r.status_code == 200
        got[amount] = decode(r.content)
        want = stylizer(content, style, StyleSettings(depth_aware=False,
                                                      texture_match=float(amount))).image
        assert np.abs(got[amount] - want[0].permute(1, 2, 0).numpy()).max() <= 1.5 / 255
    assert np.abs(got["0"] - got["0.5"]).mean() > 1 / 255
    assert client.post("/api/stylize", files=uploads(),
                       data={"texture_match": "1.5"}).status_code == 422


@pytest.mark.parametrize(("form", "mode"), [("residual", "residual"), ("off", "off"),
                                             ("false", "off"), ("true", "blend")])
def test_detail_field_reaches_the_engine(client, stylizer, form, mode):
    files = uploads()
    r = client.post("/api/stylize", files=files,
                    data={"alpha": "0.5", "strength": "uniform", "detail": form})
    assert r.status_code == 200
    content = torch.from_numpy(decode(files["content"][1])).permute(2, 0, 1)[None]
    style = torch.from_numpy(decode(files["style"][1])).permute(2, 0, 1)[None]
    want = {m: stylizer(content, style, StyleSettings(alpha=0.5, depth_aware=False,
                                                      detail=m)).image[0].permute(1, 2, 0).numpy()
            for m in ("blend", "residual", "off")}
    got = decode(r.content)
    assert np.abs(got - want[mode]).max() <= 1.5 / 255
    assert all(np.abs(got - want[m]).max() > 2 / 255 for m in want if m != mode)


def test_json_result_with_example_depth(client):
    r = client.post("/api/stylize", data={"content_example": "books", "style_id": "mondrian",
                                          "size": "200", "format": "json", "alpha": "0.9"})
    assert r.status_code == 200
    body = r.json()
    assert body["depth_source"] == "example" and max(body["width"], body["height"]) == 200
    assert body["depth"]["source"] == "file" and body["depth"]["kind"] == "disparity"
    assert "books.disparity.png" in body["depth"]["description"]
    img, prox, strength = (data_url_array(body[k]) for k in ("image", "proximity", "strength"))
    assert img.shape == prox.shape == strength.shape == (body["height"], body["width"], 3)
    # near pixels (high proximity) get less style than far ones, and never more than alpha
    p, s = prox[..., 0].ravel(), strength[..., 0].ravel()
    near, far = p > np.quantile(p, 0.8), p < np.quantile(p, 0.2)
    assert s[near].mean() < s[far].mean() - 0.3
    assert s.max() <= 0.9 + 1 / 255
    # the proximity follows the example's ground truth (a disparity map: larger = nearer)
    from importlib import resources

    gt_file = resources.files("depthstyle") / "assets" / "examples" / "books.disparity.png"
    gt = Image.open(str(gt_file)).convert("F").resize((body["width"], body["height"]))
    gt = np.asarray(gt, dtype=np.float64).ravel()
    assert np.corrcoef(gt, p)[0, 1] > 0.8


def test_uniform_strength_without_depth(client):
    r = client.post("/api/stylize", files=uploads(),
                    data={"alpha": "0.6", "format": "json", "strength": "uniform"})
    body = r.json()
    assert body["depth_source"] == "none" and body["depth"]["source"] == "off"
    s = data_url_array(body["strength"])
    assert np.allclose(s, 0.6, atol=1 / 255)


def test_uploaded_depth_map_and_jpeg(client):
    depth = np.tile(np.linspace(1000, 60000, 64, dtype=np.uint16), (48, 1))
    buf = io.BytesIO()
    Image.fromarray(depth).save(buf, format="PNG")
    files = {**uploads(), "depth": ("d.png", buf.getvalue(), "image/png")}
    r = client.post("/api/stylize", files=files, data={"format": "jpeg"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.headers["x-depth-source"] == "upload" and r.headers["x-depth-kind"] == "depth"
    assert Image.open(io.BytesIO(r.content)).size == (64, 48)
    r = client.post("/api/stylize", files={**uploads(), "depth": ("d.png", buf.getvalue())},
                    data={"format": "json", "depth_kind": "depth"})
    s = data_url_array(r.json()["strength"])[..., 0]
    assert s[:, -8:].mean() > s[:, :8].mean() + 0.3  # right = far = more style


def test_repeated_style_hits_the_cache(client, stylizer):
    before = stylizer.cache_info()
    for _ in range(2):
        assert client.post("/api/stylize", data={"content_example": "golden_gate",
                                                 "style_id": "sketch", "size": "64"}
                           ).status_code == 200
    files = uploads()
    for _ in range(2):
        assert client.post("/api/stylize", files=files, data={"size": "64"}).status_code == 200
    after = stylizer.cache_info()
    assert after["hits"] - before["hits"] >= 2
    assert after["misses"] - before["misses"] <= 2


def test_page_and_docs_load_nothing_external(client):
    html = client.get("/").text
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs and all(u.startswith(("/", "#", "data:")) for u in refs), refs
    for u in refs:
        if u.startswith("/static/"):
            assert client.get(u).status_code == 200
    js = client.get("/static/app.js").text
    assert "http://" not in js and "https://" not in js
    docs = client.get("/docs").text
    assert "cdn" not in docs.lower() and "https://" not in docs
    spec = client.get("/openapi.json").json()
    assert {"/api/stylize", "/api/health", "/api/models", "/api/styles"} <= set(spec["paths"])


# --- errors: every class answers JSON, never 500 -----------------------------------------------

def test_413_body_too_large(stylizer):
    with TestClient(create_app(stylizer, WebConfig(max_upload_mb=0.01)), base_url=LOCAL) as c:
        big = {"content": ("a.png", b"\0" * 20_000), "style_id": (None, "sketch")}
        assert_error(c.post("/api/stylize", files=big), 413, "payload_too_large", "upload limit")

        def chunks():  # no Content-Length: streamed
            for _ in range(30):
                yield b"x" * 1000

        r = c.post("/api/stylize", content=chunks(),
                   headers={"content-type": "multipart/form-data; boundary=x"})
        assert_error(r, 413, "payload_too_large")


def test_413_too_many_pixels(stylizer):
    with TestClient(create_app(stylizer, WebConfig(max_pixels=1000)), base_url=LOCAL) as c:
        assert_error(c.post("/api/stylize", files=uploads()), 413, "payload_too_large",
                     "exceeds the limit")


def test_415_unsupported_media(client):
    r = client.post("/api/stylize", files={"content": ("x.png", b"this is not an image"),
                                           "style_id": (None, "sketch")})
    assert_error(r, 415, "unsupported_media_type", "content.*not a recognised image")
    assert "/tmp" not in r.json()["error"]["message"]
    png = png_bytes(make_image(32, 32))
    r = client.post("/api/stylize", files={"content": ("x.png", png[: len(png) // 2]),
                                           "style_id": (None, "sketch")})
    assert_error(r, 415, "unsupported_media_type", "corrupt or truncated")
    r = client.post("/api/stylize", json={"content_example": "books"})
    assert_error(r, 415, "unsupported_media_type", "multipart")


@pytest.mark.parametrize("data, files, pattern", [
    ({"content_example": "books", "style_id": "sketch", "alpha": "1.5"}, None, "alpha"),
    ({"content_example": "books", "style_id": "sketch", "contrast": "-1"}, None, "contrast"),
    ({"content_example": "books", "style_id": "sketch", "levels": "9"}, None, "level"),
    ({"content_example": "books", "style_id": "sketch", "levels": "1,1,1,1,1"}, None,
     "given more than once"),
    ({"content_example": "books", "style_id": "sketch", "size": "5000"}, None, "max_side"),
    ({"content_example": "books", "style_id": "sketch", "format": "gif"}, None, "format"),
    ({"style_id": "sketch"}, None, "exactly one of content"),
    ({"content_example": "books"}, None, "exactly one of style"),
    ({"style_id": "sketch"}, "both", "exactly one of content"),
    ({"style_id": "sketch"}, "nan-depth", "depth.*no valid"),
    ({"style_id": "sketch"}, "bad-aspect", "aspect ratio"),
    ({"style_id": "sketch"}, "empty", "empty"),
])
def test_422_invalid_values(client, data, files, pattern):
    content = ("c.png", png_bytes(make_image(48, 64)))
    extra = {
        None: {},
        "both": {"content": content, "content_example": (None, "books")},
        "nan-depth": {"content": content, "depth": ("d.npy", _npy(np.full((48, 64), np.nan)))},
        "bad-aspect": {"content": content, "depth": ("d.npy", _npy(np.ones((64, 16))))},
        "empty": {"content": content, "depth": ("d.png", b"")},
    }[files]
    if files is None:
        r = client.post("/api/stylize", data=data)
    else:
        r = client.post("/api/stylize", files={**extra, **{k: (None, v) for k, v in data.items()}})
    assert_error(r, 422, "invalid_value", pattern)


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr.astype(np.float32))
    return buf.getvalue()


def test_404_unknown_ids_and_no_path_traversal(client, tmp_path):
    assert_error(client.post("/api/stylize", data={"content_example": "books",
                                                   "style_id": "../../etc/passwd"}),
                 404, "not_found", "unknown style")
    for url in ("/api/styles/nope/image", "/api/examples/..%2F..%2Fcatalog.json/image",
                "/static/../app.py", "/api/styles/%2e%2e%2f%2e%2e%2fcatalog.json/image"):
        r = client.get(url)
        assert r.status_code == 404 and r.json()["error"]["type"] == "not_found", url
    # an upload's name is never used as a path
    target = tmp_path / "evil.png"
    name = "../" * 12 + str(target).lstrip("/")
    r = client.post("/api/stylize", files={"content": (name, png_bytes(make_image(32, 32))),
                                           "style_id": (None, "sketch")})
    assert r.status_code == 200 and not target.exists()


def test_uploads_are_decoded_in_memory(stylizer, monkeypatch):
    """Images and depth maps (.npy, .pfm, PNG) are decoded from the upload's bytes: no file."""
    import tempfile

    def no_files(*_a, **_k):
        raise AssertionError("the web app wrote a temporary file")

    with TestClient(create_app(stylizer), base_url=LOCAL) as c:
        for name in ("mkdtemp", "mkstemp", "NamedTemporaryFile"):
            monkeypatch.setattr(tempfile, name, no_files)
        ramp = np.tile(np.linspace(1.0, 5.0, 48, dtype=np.float32), (32, 1))  # far on the right
        npy = io.BytesIO()
        np.save(npy, ramp)
        pfm = b"Pf\n48 32\n-1.0\n" + ramp[::-1].astype("<f4").tobytes()
        maps = {}
        for fname, data in (("d.npy", npy.getvalue()), ("d.pfm", pfm)):
            r = client_post_json(c, files={"content": ("c.png", png_bytes(make_image(32, 48))),
                                           "style_id": (None, "sketch"),
                                           "depth": (fname, data)})
            assert r["depth_source"] == "upload"
            maps[fname] = decode_data_url(r["proximity"])
        for prox in maps.values():  # depth grows to the right: proximity falls to the right
            assert prox[:, :8].mean() > prox[:, -8:].mean() + 100
        r = c.post("/api/stylize", files={"content": ("x.png", b"junk"),
                                          "style_id": (None, "sketch")})
        assert_error(r, 415, "unsupported_media_type", "content")


def test_503_timeout(stylizer):
    with TestClient(create_app(stylizer, WebConfig(timeout_s=0.001)), base_url=LOCAL) as c:
        r = c.post("/api/stylize", files=uploads(256, 256))
        assert_error(r, 503, "timeout", "did not finish|no worker")
        assert r.headers["retry-after"]


def test_method_not_allowed_is_json(client):
    r = client.get("/api/stylize")
    assert r.status_code == 405 and r.json()["error"]["type"] == "method_not_allowed"


# --- the job queue -----------------------------------------------------------------------------

def test_job_queue_bounds_and_deadline():
    async def scenario():
        q = JobQueue(workers=1, max_waiting=1, timeout=5)
        slow = [asyncio.create_task(q.run(lambda: time.sleep(0.3) or "done")) for _ in range(2)]
        await asyncio.sleep(0.05)
        assert q.running == 1 and q.waiting == 1
        with pytest.raises(QueueFullError):
            await q.run(lambda: "refused")
        assert await asyncio.gather(*slow) == ["done", "done"]
        q2 = JobQueue(workers=1, max_waiting=0, timeout=0.1)
        with pytest.raises(JobTimeoutError):
            await q2.run(lambda: time.sleep(0.4))
        assert q2.running == 1  # the overrunning job keeps its worker until it ends...
        await asyncio.sleep(0.5)
        assert q2.running == 0 and q2.stats()["timed_out"] == 1  # ...then frees it
        return q.stats()

    stats = asyncio.run(scenario())
    assert stats["completed"] == 2 and stats["rejected"] == 1


def test_job_queue_passes_exceptions():
    async def scenario():
        q = JobQueue()

        def boom():
            raise ValueError("bad")

        with pytest.raises(ValueError, match="bad"):
            await q.run(boom)
        return q.running

    assert asyncio.run(scenario()) == 0


def test_serve_help_and_bad_limits(capsys):
    from depthstyle.cli import main

    with pytest.raises(SystemExit) as e:
        main(["serve", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "127.0.0.1" in out and "--max-upload-mb" in out
    with pytest.raises(SystemExit) as e:
        main(["serve", "--timeout", "0"])
    assert e.value.code == 2


def test_learned_strength_without_module_is_422(client):
    r = client.post("/api/stylize", data={"content_example": "books", "style_id": "sketch",
                                          "strength": "learned", "size": "64"})
    if client.get("/api/models").json()[0]["learned_strength"]:
        assert r.status_code == 200
    else:
        assert_error(r, 422, "invalid_value", "no learned strength module")


def client_post_json(c, files):
    r = c.post("/api/stylize", files={**files, "format": (None, "json")})
    assert r.status_code == 200, r.text
    return r.json()


def decode_data_url(url: str) -> np.ndarray:
    import base64

    data = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float64)


def test_model_loads_in_the_lifespan():
    from starlette.formparsers import MultiPartParser

    spool = MultiPartParser.spool_max_size
    app = create_app()  # no model yet: it is loaded when the server starts
    assert app.state.web.stylizer is None
    with TestClient(app, base_url=LOCAL) as c:
        assert app.state.web.stylizer is not None
        assert c.get("/api/health").json()["status"] == "ok"
    assert MultiPartParser.spool_max_size == spool  # no process-wide setting changed


# --- trust boundary and admission ---------------------------------------------------

def test_foreign_host_is_refused_dns_rebinding(stylizer):
    with TestClient(create_app(stylizer), base_url="http://evil.example:8000") as c:
        r = c.get("/api/health")
        assert_error(r, 400, "bad_host", "evil.example.*--allowed-host")
    cfg = WebConfig(allowed_hosts=("photos.example",))
    with TestClient(create_app(stylizer, cfg), base_url="http://photos.example") as c:
        assert c.get("/api/health").status_code == 200
    with TestClient(create_app(stylizer, WebConfig(bind_host="192.168.1.5")),
                    base_url="http://192.168.1.5:8000") as c:
        assert c.get("/api/health").status_code == 200  # the bound address is allowed
    with TestClient(create_app(stylizer), base_url="http://[::1]:8000") as c:
        assert c.get("/api/health").status_code == 200


def test_cross_site_posts_are_refused(client, stylizer):
    data = {"alpha": "0.5", "strength": "uniform"}
    r = client.post("/api/stylize", files=uploads(), data=data,
                    headers={"Origin": "https://evil.example"})
    assert_error(r, 403, "cross_origin", "evil.example")
    r = client.post("/api/stylize", files=uploads(), data=data,
                    headers={"Sec-Fetch-Site": "cross-site"})
    assert_error(r, 403, "cross_origin", "")
    r = client.post("/api/stylize", files=uploads(), data=data, headers={"Origin": "null"})
    assert_error(r, 403, "cross_origin", "")
    # the page itself (same origin) and scripts without browser headers pass
    assert client.post("/api/stylize", files=uploads(), data=data,
                       headers={"Origin": "http://127.0.0.1"}).status_code == 200
    assert client.post("/api/stylize", files=uploads(), data=data).status_code == 200
    cfg = WebConfig(allowed_origins=("https://gallery.example",))
    with TestClient(create_app(stylizer, cfg), base_url=LOCAL) as c:
        assert c.post("/api/stylize", files=uploads(), data=data,
                      headers={"Origin": "https://gallery.example"}).status_code == 200


def test_admission_refuses_before_reading_the_body(stylizer):
    """Over capacity, a request is answered 503; its body is drained, never passed on or kept."""
    import asyncio

    from depthstyle.web.guard import RequestGuard

    reached = []

    async def app(scope, receive, send):
        reached.append(scope["path"])

    guard = RequestGuard(app, allowed_hosts=["127.0.0.1"], capacity=2)
    guard.in_flight = 2  # two uploads are being read or processed
    sent, read = [], []

    async def receive():
        read.append(1)
        return {"type": "http.request", "body": b"x" * 1000, "more_body": False}

    async def send(msg):
        sent.append(msg)

    scope = {"type": "http", "method": "POST", "path": "/api/stylize",
             "headers": [(b"host", b"127.0.0.1:8000")]}
    asyncio.run(guard(scope, receive, send))
    assert sent[0]["status"] == 503 and (b"retry-after", b"2") in sent[0]["headers"]
    assert len(read) == 1 and not reached and guard.refused == 1  # drained, never passed on
    guard.in_flight = 1
    asyncio.run(guard(scope, receive, send))
    assert reached == ["/api/stylize"] and guard.in_flight == 1  # released after the answer


def test_empty_form_values_are_refused_not_defaulted(client):
    r = client.post("/api/stylize", files=uploads(), data={"alpha": "", "offset": ""})
    assert_error(r, 422, "invalid_value", r"empty form field\(s\): alpha, offset")
    # "levels" is documented as "empty = the model's default"
    assert client.post("/api/stylize", files=uploads(), data={"levels": ""}).status_code == 200


def test_an_internal_error_is_json_and_logged_once(stylizer, monkeypatch, caplog):
    import logging

    app = create_app(stylizer)
    with TestClient(app, base_url=LOCAL) as c:
        monkeypatch.setattr(Stylizer, "__call__", lambda *a, **k: 1 / 0)
        with caplog.at_level(logging.ERROR):
            r = c.post("/api/stylize", files=uploads(), data={"strength": "uniform"})
    assert_error(r, 500, "internal_error", "logged on the server")
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert len(errors) == 1 and "ZeroDivisionError" in caplog.text


def _asgi_call(app, headers, method="POST", path="/api/stylize", scheme="http"):
    """Run one request through an ASGI app; returns (sent messages, body reads)."""
    import asyncio

    sent, reads = [], []

    async def receive():
        reads.append(1)
        await asyncio.sleep(0)
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    async def send(msg):
        sent.append(msg)

    scope = {"type": "http", "method": method, "path": path, "scheme": scheme,
             "headers": headers}
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 5))
    return sent, reads


def test_a_large_refused_body_is_answered_by_its_headers_without_reading_it(stylizer):
    """Bad Host with Content-Length 30 MB: 400 at once; a good Host over the upload limit: 413."""
    cfg = WebConfig(max_upload_mb=8)
    app = create_app(stylizer, cfg)
    big = [(b"content-length", b"30000000"), (b"content-type", b"multipart/form-data; b=x")]
    sent, reads = _asgi_call(app, [(b"host", b"evil.example"), *big])
    assert sent[0]["status"] == 400 and b"bad_host" in sent[1]["body"] and not reads
    sent, reads = _asgi_call(app, [(b"host", b"127.0.0.1:8000"), *big])
    assert sent[0]["status"] == 413 and not reads
    # a cross-site post, however large, is refused unread too
    sent, reads = _asgi_call(app, [(b"host", b"127.0.0.1:8000"),
                                   (b"origin", b"http://evil.example"), *big])
    assert sent[0]["status"] == 403 and not reads


def test_the_origin_check_compares_the_scheme(stylizer):
    from depthstyle.web.guard import RequestGuard

    reached = []

    async def app(scope, receive, send):
        reached.append(scope["scheme"])

    guard = RequestGuard(app, allowed_hosts=["127.0.0.1"])
    small = [(b"host", b"127.0.0.1:8000"), (b"content-length", b"10")]
    sent, _ = _asgi_call(guard, [*small, (b"origin", b"https://127.0.0.1:8000")])
    assert sent[0]["status"] == 403 and not reached
    _asgi_call(guard, [*small, (b"origin", b"http://127.0.0.1:8000")])
    assert reached == ["http"]
    _asgi_call(guard, [*small, (b"origin", b"https://127.0.0.1:8000")], scheme="https")
    assert reached == ["http", "https"]
