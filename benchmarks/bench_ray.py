"""Dataset throughput: the local engine against ``--engine ray`` with 1 and 2 actors.

Each configuration runs ``depthstyle stylize`` in a fresh process on N photos (the first N of
``--photos``, sorted) with one style each (``--styles-per-image 1``), at ``--content-size``, depth
off (stylization only: the depth model's own cost is in ``bench_depth.py``), twice: with a small
and a large N. The difference gives the steady per-image cost (images/s); the rest of the small
run's wall time is the fixed start-up (interpreter, model load, for Ray the cluster and the actor
pool). Every process of the run is sampled every 0.2 s for its resident memory: the driver, and
for Ray each actor (``ray::MapWorker``) and Ray's own daemons.

Run: python benchmarks/bench_ray.py --photos ../shared/train/content \
        --styles ../shared/images/style --out benchmarks/results/ray_cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

CONFIGS = {
    "local (2 threads)": [],
    "ray, 1 actor x 2 CPUs": ["--engine", "ray", "--actors", "1", "--cpus-per-actor", "2"],
    "ray, 1 actor x 1 CPU": ["--engine", "ray", "--actors", "1", "--cpus-per-actor", "1"],
    "ray, 2 actors x 1 CPU": ["--engine", "ray", "--actors", "2", "--cpus-per-actor", "1"],
}


class MemorySampler(threading.Thread):
    """Peak RSS (MiB) per process of a run: the driver tree and Ray's processes."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root, self.peak, self.kind = root, {}, {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                procs = [psutil.Process(self.root), *psutil.Process(self.root).children(True)]
            except psutil.NoSuchProcess:
                procs = []
            procs += [p for p in psutil.process_iter(["name"]) if (p.info["name"] or "")
                      .startswith(("ray::", "raylet", "gcs_server"))]
            for p in procs:
                try:
                    rss = p.memory_info().rss / 2**20
                    title = " ".join(p.cmdline()[:1]) or p.name()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                self.peak[p.pid] = max(self.peak.get(p.pid, 0.0), rss)
                self.kind[p.pid] = ("actor" if "MapWorker" in title else "driver"
                                    if p.pid == self.root else "ray daemon")
            time.sleep(0.2)


def run_once(photos: list[Path], styles: Path, n: int, extra: list[str], size: int
             ) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    try:
        inputs = work / "in"
        inputs.mkdir()
        for p in photos[:n]:
            os.symlink(p.resolve(), inputs / p.name)
        cmd = [sys.executable, "-m", "depthstyle", "stylize", str(inputs), "-s", str(styles),
               "--styles-per-image", "1", "--content-size", str(size), "--depth", "none",
               "-q", "-o", str(work / "out"), *extra]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True)
        sampler = MemorySampler(proc.pid)
        sampler.start()
        _, err = proc.communicate()
        wall = time.perf_counter() - start
        sampler.stop.set()
        sampler.join()
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd} failed:\n{err[-3000:]}")
        written = len(list((work / "out").rglob("*.png")))
        assert written == n, (written, n)
        by_kind: dict[str, list[float]] = {}
        for pid, mib in sampler.peak.items():
            by_kind.setdefault(sampler.kind[pid], []).append(mib)
        return {"n": n, "wall_s": wall,
                "peak_rss_mib": {k: sorted(round(v) for v in vs) for k, vs in by_kind.items()}}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def ray_init_seconds() -> float:
    """Seconds for ``ray.init`` of a local cluster plus its shutdown, in a fresh process."""
    code = ("import os, time; os.environ.setdefault('RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER', '0');"
            "import ray; t = time.perf_counter();"
            "ray.init(include_dashboard=False, logging_level='ERROR', log_to_driver=False);"
            "t1 = time.perf_counter(); ray.shutdown(); print(t1 - t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=Path, required=True)
    ap.add_argument("--styles", type=Path, required=True)
    ap.add_argument("--small", type=int, default=8)
    ap.add_argument("--large", type=int, default=40)
    ap.add_argument("--content-size", type=int, default=512)
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    photos = sorted(p for p in args.photos.iterdir()
                    if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:args.large]
    rows = []
    for name in args.configs:
        small = run_once(photos, args.styles, args.small, CONFIGS[name], args.content_size)
        large = run_once(photos, args.styles, args.large, CONFIGS[name], args.content_size)
        per_image = (large["wall_s"] - small["wall_s"]) / (args.large - args.small)
        row = {"config": name, "images_per_s": 1 / per_image, "ms_per_image": 1000 * per_image,
               "startup_s": small["wall_s"] - args.small * per_image,
               "small": small, "large": large}
        rows.append(row)
        print(f"{name:24s} {row['images_per_s']:5.2f} img/s  {row['ms_per_image']:6.0f} ms/img"
              f"  start-up {row['startup_s']:5.1f} s  peak RSS {large['peak_rss_mib']}",
              flush=True)
    init = ray_init_seconds()
    print(f"ray.init + shutdown of a local cluster: {init:.1f} s")
    if args.out:
        import ray
        import torch

        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({
            "machine": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "python": platform.python_version(), "torch": torch.__version__,
            "ray": ray.__version__, "content_size": args.content_size,
            "small": args.small, "large": args.large, "ray_init_s": init, "rows": rows},
            indent=2))


if __name__ == "__main__":
    main()
