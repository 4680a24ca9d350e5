"""Batch runs: one job -> files on disk and a record, the same in every process.

:func:`run_job` is the whole per-image work of ``depthstyle stylize`` (decode, depth by the
usual resolution order, stylize, write atomically); the local loop and every Ray actor
(:mod:`depthstyle.ray_batch`) call it, so the two engines give the same files.
:class:`StylizerSpec` is how a worker builds its own stylizer, and :class:`Manifest` the
``manifest.jsonl`` a dataset run appends one line per job to.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from depthstyle.depth.catalog import DEFAULT_DEPTH_SIZE
from depthstyle.errors import DepthStyleError
from depthstyle.jobs import Job, map_outputs
from depthstyle.settings import StyleSettings

if TYPE_CHECKING:
    import torch

    from depthstyle.pipeline import Stylizer

__all__ = ["StylizerSpec", "JobOptions", "run_job", "job_done", "split_done", "Manifest",
           "worker_name", "settings_record", "MANIFEST_NAME"]

log = logging.getLogger("depthstyle.batch")

MANIFEST_NAME = "manifest.jsonl"


@dataclass(frozen=True)
class StylizerSpec:
    """Everything needed to build a :class:`~depthstyle.pipeline.Stylizer` in any process.

    A spec is small and picklable: a Ray actor receives it and loads the model itself, once.
    ``depth`` is the ``--depth`` option's text (``"auto"``, ``"none"`` or a map file; a folder
    of maps is a job option, :attr:`JobOptions.depth_dir`).
    """

    model: str = "depthstyle-lite0"
    device: str = "auto"
    half: bool = False
    backend: str = "torch"
    onnx_dir: str | None = None
    max_pixels: int | None = None
    tile_size: int | None = 2048
    depth: str = "auto"
    depth_kind: str | None = None
    depth_model: str | None = None
    depth_resolution: int | None = DEFAULT_DEPTH_SIZE

    def build(self, device: str | None = None) -> Stylizer:
        """Load the model and the depth source (``device`` overrides :attr:`device`)."""
        from depthstyle.depth import DEFAULT_DEPTH_MODEL, make_depth_source
        from depthstyle.io import DEFAULT_MAX_PIXELS
        from depthstyle.pipeline import Stylizer, select_device

        max_pixels = self.max_pixels or DEFAULT_MAX_PIXELS
        dev = select_device(device or self.device)
        depth = None
        if self.depth != "dir":  # per-job maps from a folder: no default source needed
            depth = make_depth_source(self.depth, kind=self.depth_kind,
                                      model=self.depth_model or DEFAULT_DEPTH_MODEL,
                                      device=dev, resolution=self.depth_resolution)
        if self.backend == "onnxruntime":
            from depthstyle.export.cache import cached_export

            folder = Path(self.onnx_dir) if self.onnx_dir else cached_export(self.model)
            return Stylizer.from_onnx(folder, depth=depth, max_pixels=max_pixels)
        return Stylizer(self.model, depth=depth, device=dev, half=self.half,
                        max_pixels=max_pixels, tile_size=self.tile_size)


@dataclass(frozen=True)
class JobOptions:
    """How every job of a run is done and written (the same for all workers).

    Attributes:
        settings: the style settings.
        save_maps: also write ``OUT.proximity.png`` and ``OUT.strength.png``.
        quality: JPEG/WebP quality.
        alpha_mode: ``"composite"`` (over white) or ``"keep"`` (alpha into the output).
        max_pixels: refuse larger inputs.
        overwrite: replace existing outputs.
        resume: skip a job whose output exists (a dataset run) instead of refusing it.
        depth_dir: a folder of maps named after the contents (``--depth DIR``), else ``None``.
        depth_kind: how to read those maps (``None`` = from the file name).
        masks: (1, K, H, W) style masks, or ``None``.
    """

    settings: StyleSettings
    save_maps: bool = False
    quality: int = 95
    alpha_mode: str = "composite"
    max_pixels: int | None = None
    overwrite: bool = False
    resume: bool = False
    depth_dir: str | None = None
    depth_kind: str | None = None
    masks: torch.Tensor | None = None


def worker_name() -> str:
    """``host:pid`` of this process, for the manifest."""
    return f"{socket.gethostname()}:{os.getpid()}"


def job_done(job: Job, opts: JobOptions) -> bool:
    """Whether a resumed run can skip ``job``: its output exists (written last, atomically)."""
    return Path(job.output).exists()


def split_done(jobs: list[Job], opts: JobOptions) -> tuple[list[Job], list[dict[str, Any]]]:
    """A resumed run's jobs still to do, and a ``"skipped"`` record for each done one.

    The driver checks this before it starts any worker, so a finished run costs one ``stat``
    per output and no model load.
    """
    if not opts.resume or opts.overwrite:
        return list(jobs), []
    todo, skipped = [], []
    for job in jobs:
        if job_done(job, opts):
            skipped.append(_record(job, "skipped", None, "", 0.0, worker_name()))
        else:
            todo.append(job)
    return todo, skipped


def _record(job: Job, status: str, error: str | None, depth: str, seconds: float,
            worker: str) -> dict[str, Any]:
    return {"input": str(job.content), "styles": [str(s) for s in job.styles],
            "output": str(job.output), "status": status, "error": error, "depth": depth,
            "seconds": round(seconds, 4), "worker": worker}


def _render(stylizer: Stylizer, job: Job, opts: JobOptions) -> str:
    """Do one job; write its maps, then its output (so an output on disk means done)."""
    import torch.nn.functional as F

    from depthstyle.depth import DepthMapFile, find_depth_file
    from depthstyle.io import DEFAULT_MAX_PIXELS, load_image_with_alpha, save_image

    content = Path(job.content)
    rgb, alpha = load_image_with_alpha(content, max_pixels=opts.max_pixels or DEFAULT_MAX_PIXELS)
    if alpha is not None and opts.alpha_mode == "composite":
        rgb, alpha = rgb * alpha + (1 - alpha), None
    if opts.depth_dir is not None:
        dfile = find_depth_file(Path(opts.depth_dir), content.stem)
        if dfile is None:
            raise DepthStyleError(f"{content}: no depth map named {content.stem}.* in "
                                  f"{opts.depth_dir}")
        depth = DepthMapFile(dfile, opts.depth_kind)
    else:  # --depth auto looks beside the photo first
        depth = stylizer.depth_source(content)
    result = stylizer(rgb, [Path(s) for s in job.styles], opts.settings, depth=depth,
                      masks=opts.masks, name=content.name)
    if alpha is not None:
        alpha = F.interpolate(alpha, size=result.image.shape[-2:], mode="bilinear",
                              align_corners=False)
    out = Path(job.output)
    if opts.save_maps:
        for path, m in zip(map_outputs(out), (result.proximity, result.strength), strict=True):
            save_image(m.expand(-1, 3, -1, -1), path, overwrite=opts.overwrite or opts.resume)
    save_image(result.image, out, overwrite=opts.overwrite, alpha=alpha, quality=opts.quality)
    return result.depth_origin.source if result.depth_origin is not None else ""


def run_job(stylizer: Stylizer, job: Job, opts: JobOptions, worker: str | None = None
            ) -> dict[str, Any]:
    """Do ``job`` and say how it went; a failing input never raises.

    Returns:
        The manifest record: ``input``, ``styles``, ``output``, ``status`` (``"ok"``,
        ``"skipped"``: the output existed in a resumed run, or ``"failed"``), ``error``
        (the message, or ``None``), ``depth`` (which source gave the depth), ``seconds``,
        ``worker``.
    """
    start = time.perf_counter()
    status, error, depth = "ok", None, ""
    if opts.resume and not opts.overwrite and job_done(job, opts):
        status = "skipped"
    else:
        try:
            depth = _render(stylizer, job, opts)
        except (DepthStyleError, ValueError, OSError) as exc:
            status = "failed"
            error = str(exc) if str(job.content) in str(exc) else f"{job.content}: {exc}"
    return _record(job, status, error, depth, time.perf_counter() - start,
                   worker or worker_name())


def settings_record(opts: JobOptions, spec: StylizerSpec) -> dict[str, Any]:
    """The run's settings as plain JSON values (one copy in every manifest line)."""
    s = dataclasses.asdict(opts.settings)
    s.update(model=spec.model, depth=spec.depth if opts.depth_dir is None else opts.depth_dir,
             save_maps=opts.save_maps, masks=opts.masks is not None)
    return json.loads(json.dumps(s, default=str))


class Manifest:
    """``manifest.jsonl``: one JSON line per job, appended and flushed to disk as jobs end.

    Lines of earlier runs are kept, so a resumed run's manifest tells the whole story; the
    last line of an output is its current state. A line is written whole with one ``write``
    and ``fsync``: a run killed mid-way leaves complete lines only. The file is opened with the
    first record, so a run refused before any job (bad settings) leaves no empty manifest.
    """

    def __init__(self, path: str | os.PathLike, settings: dict[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.settings = settings or {}
        self._fh = None

    def append(self, record: dict[str, Any]) -> None:
        """Write ``record`` (with the run's settings) as one line, flushed to disk."""
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (see close())
        line = json.dumps({**record, "settings": self.settings}, ensure_ascii=False)
        self._fh.write(line + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        """Close the file (if a record opened it)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def read(path: str | os.PathLike) -> list[dict[str, Any]]:
        """The manifest's records (a torn last line, if any, is left out)."""
        out = []
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out
