"""Bounded load test on loopback: 50 concurrent requests to a real uvicorn server.

Traffic goes to 127.0.0.1 only; the loops are bounded in count and time.
"""

from __future__ import annotations

import asyncio
import gc
import io

import numpy as np
import pytest
from PIL import Image

from conftest import make_image
from depthstyle.io import to_pil

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
psutil = pytest.importorskip("psutil")

from depthstyle.pipeline import Stylizer  # noqa: E402
from depthstyle.web import WebConfig, create_app  # noqa: E402
from depthstyle.web.server import running_server  # noqa: E402


def png(img) -> bytes:
    buf = io.BytesIO()
    to_pil(img).save(buf, format="PNG")
    return buf.getvalue()


CONTENT = png(make_image(64, 80, 5))
STYLES = [png(make_image(48, 48, s)) for s in range(5)]


async def fire(url: str, n: int, timeout: float = 120.0) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=timeout) as client:
        async def one(i: int):
            files = {"content": ("c.png", CONTENT, "image/png"),
                     "style": ("s.png", STYLES[i % len(STYLES)], "image/png")}
            return await client.post("/api/stylize", files=files,
                                     data={"alpha": f"{0.5 + 0.01 * (i % 50)}",
                                           "strength": "uniform", "format": "json"})
        return await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(n))), timeout)


def rss_mb() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


@pytest.fixture(scope="module")
def stylizer():
    return Stylizer("depthstyle-lite0", device="cpu")


def test_50_concurrent_requests_all_answered(stylizer):
    app = create_app(stylizer, WebConfig(workers=2, queue=64, timeout_s=120))
    with running_server(app) as url:
        asyncio.run(fire(url, 10))  # warm-up: allocator pools, style cache
        baseline = rss_mb()
        responses = asyncio.run(fire(url, 50))
        after = rss_mb()
        health = httpx.get(url + "/api/health").json()
    assert [r.status_code for r in responses] == [200] * 50
    for i, r in enumerate(responses):
        body = r.json()
        assert (body["width"], body["height"]) == (80, 64)
        # every answer carries its own request's alpha (no mix-up between concurrent jobs)
        import base64

        s = np.asarray(Image.open(io.BytesIO(base64.b64decode(body["strength"].split(",")[1]))))
        assert abs(s.mean() / 255 - (0.5 + 0.01 * (i % 50))) < 1.5 / 255
    assert health["queue"]["running"] == 0 and health["queue"]["waiting"] == 0
    assert health["queue"]["rejected"] == 0
    # memory returns to the warm baseline (allowance: allocator slack, not per-request growth)
    assert after - baseline < 150, (baseline, after)


def test_overload_gets_503_not_500(stylizer):
    app = create_app(stylizer, WebConfig(workers=1, queue=2, timeout_s=120))
    with running_server(app) as url:
        responses = asyncio.run(fire(url, 30))
    codes = [r.status_code for r in responses]
    assert set(codes) <= {200, 503} and codes.count(200) >= 3 and codes.count(503) >= 1, codes
    for r in responses:
        if r.status_code == 503:
            assert r.json()["error"]["type"] == "busy" and r.headers["retry-after"]
