"""Web app: latency of single requests and throughput under concurrent load, on loopback.

Starts the app (bundled model, CPU) with uvicorn in this process and sends requests to
127.0.0.1 only. Reported:

* latency (median, p95 over --reps) of one client at a time, for the live preview (320 px) and
  a full render (512 px), content and style uploaded each time (as the page does);
* for --concurrency N simultaneous clients and each --workers setting: wall time, requests per
  second, latency median/p95/max, status codes, and the server process's RSS before and after
  (after a warm-up, with garbage collection).

Run: python benchmarks/bench_web.py --out benchmarks/results/web_cpu.json
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> None:
    import httpx
    import psutil
    import torch

    from depthstyle.pipeline import Stylizer
    from depthstyle.web import WebConfig, create_app
    from depthstyle.web.server import running_server

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--content", type=Path, default=ROOT / "examples" / "golden_gate.jpg")
    ap.add_argument("--style", type=Path, default=ROOT / "examples" / "woman_with_hat.jpg")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--load-size", type=int, default=320, help="output side under load")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    content, style = args.content.read_bytes(), args.style.read_bytes()
    stylizer = Stylizer("depthstyle-lite0", device="cpu")
    proc = psutil.Process()

    def rss() -> float:
        gc.collect()
        return round(proc.memory_info().rss / 2**20, 1)

    def files():
        return {"content": (args.content.name, content), "style": (args.style.name, style)}

    async def one(client, size: int) -> tuple[int, float]:
        t0 = time.perf_counter()
        r = await client.post("/api/stylize", files=files(),
                              data={"size": str(size), "format": "json"})
        return r.status_code, (time.perf_counter() - t0) * 1000

    async def sequential(url: str, size: int) -> list[float]:
        async with httpx.AsyncClient(base_url=url, timeout=300) as c:
            await one(c, size)
            return [(await one(c, size))[1] for _ in range(args.reps)]

    async def burst(url: str, n: int, size: int):
        async with httpx.AsyncClient(base_url=url, timeout=300) as c:
            t0 = time.perf_counter()
            res = await asyncio.gather(*(one(c, size) for _ in range(n)))
            return res, time.perf_counter() - t0

    out = {"command": " ".join(sys.argv), "machine": platform.processor() or platform.machine(),
           "cpus": psutil.cpu_count(), "torch": torch.__version__,
           "torch_threads": torch.get_num_threads(), "latency": [], "load": []}
    with running_server(create_app(stylizer)) as url:
        for label, size in (("preview", 320), ("full", 512)):
            lat = asyncio.run(sequential(url, size))
            row = {"request": label, "size": size, "median_ms": round(statistics.median(lat), 1),
                   "p95_ms": round(_percentile(lat, 0.95), 1)}
            out["latency"].append(row)
            print(json.dumps(row), flush=True)
    for workers in args.workers:
        app = create_app(stylizer, WebConfig(workers=workers, queue=args.concurrency,
                                             timeout_s=600))
        with running_server(app) as url:
            asyncio.run(burst(url, 10, args.load_size))  # warm-up
            before = rss()
            res, wall = asyncio.run(burst(url, args.concurrency, args.load_size))
            after = rss()
        lat = [ms for _, ms in res]
        codes = {str(c): sum(1 for s, _ in res if s == c) for c in sorted({s for s, _ in res})}
        row = {"workers": workers, "concurrency": args.concurrency, "size": args.load_size,
               "wall_s": round(wall, 2), "requests_per_s": round(len(res) / wall, 2),
               "median_ms": round(statistics.median(lat), 1),
               "p95_ms": round(_percentile(lat, 0.95), 1), "max_ms": round(max(lat), 1),
               "status": codes, "rss_before_mb": before, "rss_after_mb": after}
        out["load"].append(row)
        print(json.dumps(row), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
