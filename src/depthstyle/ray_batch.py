"""The Ray engine of ``depthstyle stylize --engine ray``: the same jobs on a Ray cluster.

The jobs become a Ray dataset of file references (paths, never image bytes on the driver).
An actor pool runs them: each actor builds its stylizer once from a
:class:`~depthstyle.batch.StylizerSpec` (style statistics are cached per actor by the
stylizer) and calls :func:`~depthstyle.batch.run_job`, the local engine's own per-image code,
so outputs match the local engine's. Actors take one GPU each when the cluster has GPUs,
else ``cpus_per_actor`` CPUs (fractions allowed). The driver streams the records back as
batches end and appends them to the manifest; Ray restarts a killed actor and retries its
batch, and a killed run resumes from the outputs on disk.

Needs the ``ray`` extra (``pip install 'depthstyle[ray]'``).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from depthstyle.batch import JobOptions, StylizerSpec, run_job, worker_name
from depthstyle.errors import DepthStyleError
from depthstyle.jobs import Job

__all__ = ["RayOptions", "RayPlan", "run_on_ray", "run_tasks", "plan_pool", "require_ray",
           "cluster"]

log = logging.getLogger("depthstyle.batch")


def require_ray(local: bool = False):
    """The ``ray`` module, or a clear error naming the extra to install.

    ``local``: the run will start its own one-machine cluster; Ray is then told (before it is
    first imported) to keep it on the loopback address, so nothing outside this machine can
    reach it or is contacted by it.
    """
    if local:
        # Ray's switch for one-machine use: node address 127.0.0.1 instead of the address of
        # the machine's network interface (it also refuses other nodes joining)
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise DepthStyleError("--engine ray needs Ray Data: pip install 'depthstyle[ray]' "
                              f"({exc})") from None
    return ray


@dataclass(frozen=True)
class RayOptions:
    """How to use the cluster.

    Attributes:
        address: a running cluster (``ray://`` or ``host:port``, or ``"auto"``); ``None``
            starts a local one on this machine (or joins ``RAY_ADDRESS`` if set).
        actors: actor-pool size; ``None`` = one per GPU, else CPUs // ``cpus_per_actor``.
        batch_size: jobs per actor call; ``None`` = chosen from the job count.
        cpus_per_actor: CPUs each actor reserves (fractions allowed, e.g. 0.5).
        gpus_per_actor: GPUs each actor reserves; ``None`` = 1 when the cluster has GPUs.
        num_cpus: CPUs of a local cluster started here (``None`` = all).
    """

    address: str | None = None
    actors: int | None = None
    batch_size: int | None = None
    cpus_per_actor: float = 1.0
    gpus_per_actor: float | None = None
    num_cpus: int | None = None


@dataclass(frozen=True)
class RayPlan:
    """The resources chosen for a run (logged, and kept for the benchmark)."""

    actors: int
    batch_size: int
    num_cpus: float
    num_gpus: float
    device: str


def plan_pool(resources: dict[str, float], n_jobs: int, options: RayOptions,
              device: str) -> RayPlan:
    """Pool size, batch size and per-actor resources for ``n_jobs`` on a cluster.

    With GPUs (and ``device`` not ``cpu``) each actor takes ``gpus_per_actor`` (default 1) and
    runs on CUDA; otherwise each takes ``cpus_per_actor``. The pool is never larger than the
    number of jobs. The batch size defaults to about a quarter of each actor's share, from 1
    to 8, so work stays balanced and records stream back.
    """
    gpus = resources.get("GPU", 0.0)
    use_gpu = gpus > 0 and device != "cpu"
    per_gpu = (options.gpus_per_actor or 1.0) if use_gpu else 0.0
    if options.actors is not None:
        actors = options.actors
    elif use_gpu:
        actors = max(1, int(gpus // per_gpu))
    else:
        actors = max(1, int(resources.get("CPU", 1.0) // options.cpus_per_actor))
    actors = max(1, min(actors, n_jobs))
    batch = options.batch_size or max(1, min(8, math.ceil(n_jobs / actors / 4)))
    return RayPlan(actors=actors, batch_size=batch, num_cpus=options.cpus_per_actor,
                   num_gpus=per_gpu, device="cuda" if use_gpu else
                   ("cpu" if device == "auto" else device))


class _StylizeActor:
    """One actor of the pool: one model load, then jobs (a batch of rows) -> records."""

    def __init__(self, spec: StylizerSpec, opts: JobOptions, device: str) -> None:
        import torch

        logging.getLogger("depthstyle").setLevel(logging.WARNING)  # into Ray's worker logs
        if device == "cpu":  # Ray sets OMP_NUM_THREADS from the actor's CPUs
            torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "1"))))
        self.stylizer = spec.build(device=device)
        self.opts = opts
        import ray

        self.name = f"{worker_name()} node {ray.get_runtime_context().get_node_id()[:8]}"

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        records = []
        for content, styles, output in zip(batch["content"], batch["styles"], batch["output"],
                                           strict=True):
            job = Job(content, json.loads(styles), output)
            records.append(json.dumps(run_job(self.stylizer, job, self.opts, self.name)))
        return {"record": np.array(records, dtype=object)}


def _init(ray, options: RayOptions) -> None:
    if ray.is_initialized():
        return
    kwargs: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False,
                                  logging_level=logging.ERROR)
    address = options.address or os.environ.get("RAY_ADDRESS")
    if address:
        kwargs["address"] = address
    elif options.num_cpus is not None:
        kwargs["num_cpus"] = options.num_cpus
    try:
        ray.init(**kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
        raise DepthStyleError(f"could not start or join {where}: {exc}") from None


def cluster(options: RayOptions):
    """``(ray, started)``: Ray joined or started, quiet, and whether this call started it."""
    ray = require_ray(local=not (options.address or os.environ.get("RAY_ADDRESS")))
    started = not ray.is_initialized()
    for name in ("ray", "ray.data"):  # Ray's own lines would drown ours; its logs have them
        logging.getLogger(name).setLevel(logging.ERROR)
    _init(ray, options)
    return ray, started


def run_tasks(fn, items: Sequence[Any], options: RayOptions = RayOptions(),
              device: str = "auto") -> list[Any]:
    """``[fn(item) for item in items]`` as Ray tasks, results in the items' order.

    Each task reserves one GPU when the cluster has GPUs (and ``device`` is not ``cpu``), else
    ``options.cpus_per_actor`` CPUs; a task whose worker dies is retried (twice). ``fn`` and
    the items must be picklable (they travel to the workers).
    """
    ray, started = cluster(options)
    try:
        plan = plan_pool(ray.cluster_resources(), len(items), options, device)
        log.info("Ray: %d task(s), up to %d at once, %s each", len(items), plan.actors,
                 f"{plan.num_gpus:g} GPU" if plan.num_gpus else f"{plan.num_cpus:g} CPU")
        remote = ray.remote(num_cpus=plan.num_cpus, num_gpus=plan.num_gpus or None,
                            max_retries=2)(fn)
        return ray.get([remote.remote(it) for it in items])
    finally:
        if started:
            ray.shutdown()


def run_on_ray(jobs: Sequence[Job], spec: StylizerSpec, opts: JobOptions,
               options: RayOptions = RayOptions()) -> Iterator[dict[str, Any]]:
    """Run ``jobs`` on Ray; yield each job's record as its batch ends (in no set order).

    Starts (or joins) the cluster, and shuts down a cluster it started when done.
    """
    ray, started = cluster(options)
    from ray.data import ActorPoolStrategy, DataContext

    try:
        plan = plan_pool(ray.cluster_resources(), len(jobs), options, spec.device)
        log.info("Ray: %d actor(s), %s per actor, batches of %d, %d job(s)", plan.actors,
                 f"{plan.num_gpus:g} GPU" if plan.num_gpus else f"{plan.num_cpus:g} CPU",
                 plan.batch_size, len(jobs))
        ctx = DataContext.get_current()
        ctx.enable_progress_bars = False  # the driver shows its own bar
        rows = [{"content": str(j.content), "styles": json.dumps([str(s) for s in j.styles]),
                 "output": str(j.output)} for j in jobs]
        blocks = max(1, min(len(rows), math.ceil(len(rows) / plan.batch_size)))
        ds = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
            _StylizeActor, fn_constructor_kwargs=dict(spec=spec, opts=opts, device=plan.device),
            batch_size=plan.batch_size, batch_format="numpy",
            compute=ActorPoolStrategy(size=plan.actors), num_cpus=plan.num_cpus,
            num_gpus=plan.num_gpus or None)
        for row in ds.iter_rows():
            yield json.loads(row["record"])
    finally:
        if started:
            ray.shutdown()
