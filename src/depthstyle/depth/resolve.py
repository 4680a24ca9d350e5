"""Where a photo's depth comes from: one resolution order for the CLI, the API, web, video, eval.

:class:`AutoDepth` (``--depth auto``, the default) tries, for each photo:

1. (an explicit map is not its business: ``--depth FILE|DIR`` builds a :class:`DepthMapFile`);
2. a map beside the photo, ``<stem>.depth.<ext>`` or ``<stem>.disparity.<ext>`` (png, npy, pfm,
   tif, tiff), read as depth or disparity according to the name; then depth stored in the photo
   itself (Google Camera's GDepth XMP and Android Dynamic Depth JPEGs,
   :mod:`depthstyle.depth.embedded`);
3. a monocular depth model on this machine (``--depth-model DIR``, this library's cache, or the
   Hugging Face cache), loaded once;
4. the model downloaded on first use into the cache (never when ``DEPTHSTYLE_OFFLINE`` or
   ``HF_HUB_OFFLINE`` is set, or with ``download=False``);
5. otherwise uniform strength, with one warning that says so and names the command that gets
   depth.

HEIC auxiliary depth images are not read yet.

:func:`origin_of` describes any source as a :class:`DepthOrigin`, which every entry point logs
(one INFO line per image) and the web API returns.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from depthstyle.depth.catalog import (
    DEFAULT_DEPTH_MODEL,
    DEFAULT_DEPTH_SIZE,
    describe_missing,
    hub_entry,
)
from depthstyle.depth.maps import DepthKind
from depthstyle.depth.sources import ConstantDepth, DepthMapFile, DepthSource, kind_from_name
from depthstyle.depth.transformers_backend import TransformersDepth
from depthstyle.errors import DepthStyleError

__all__ = ["AutoDepth", "DepthOrigin", "origin_of", "map_beside", "BESIDE_SUFFIXES",
           "make_depth_source"]

log = logging.getLogger(__name__)
BESIDE_SUFFIXES = (".png", ".npy", ".pfm", ".tif", ".tiff")


@dataclass(frozen=True)
class DepthOrigin:
    """Which source gave a photo's depth.

    Attributes:
        source: ``"file"`` (given by the user), ``"beside"`` (a map next to the photo),
            ``"embedded"`` (stored in the photo), ``"model"`` (a monocular model or any other
            callable source), ``"uniform"`` (no depth: uniform strength),
            ``"given"`` (a proximity tensor passed in) or ``"off"`` (depth-aware off).
        detail: the map's path or the model's name; for ``"uniform"`` the reason.
        kind: ``"depth"`` or ``"disparity"`` for maps, ``"relative depth"`` for models,
            ``""`` otherwise.
    """

    source: str
    detail: str = ""
    kind: str = ""

    def describe(self) -> str:
        """One human line.

        For example ``depth from the map beside the photo books.disparity.png, read as
        disparity``.
        """
        if self.source == "uniform":
            return f"no depth ({self.detail}): uniform strength"
        if self.source == "off":
            return "depth off: uniform strength"
        where = {"file": "the given map", "beside": "the map beside the photo",
                 "embedded": "the depth stored in", "model": "the depth model",
                 "given": "the given proximity"}[self.source]
        read = f", read as {self.kind}" if self.kind else ""
        return f"depth from {where} {self.detail}{read}".replace("  ", " ").strip()

    def as_dict(self) -> dict[str, str]:
        """JSON-ready fields (the web API's ``depth`` object)."""
        return {**asdict(self), "description": self.describe()}


def map_beside(photo: str | os.PathLike) -> Path | None:
    """The depth or disparity map next to ``photo`` (``<stem>.depth.png``...), if any."""
    photo = Path(photo)
    for tag in ("depth", "disparity"):
        for ext in BESIDE_SUFFIXES:
            for cand in (photo.with_name(f"{photo.stem}.{tag}{ext}"),
                         photo.with_name(f"{photo.stem}.{tag}{ext.upper()}")):
                if cand.is_file() and cand != photo:
                    return cand
    return None


def origin_of(source: object) -> DepthOrigin:
    """The :class:`DepthOrigin` of a resolved source (a map, a model, the constant)."""
    if isinstance(source, AutoDepth):
        return origin_of(source.model())
    if isinstance(source, DepthMapFile):
        named = source.path.name if source.path and source.origin != "embedded" else source.label
        return DepthOrigin(source.origin, named, source.kind)
    if isinstance(source, TransformersDepth):
        return DepthOrigin("model", source.name, "relative depth")
    if isinstance(source, torch.Tensor):
        return DepthOrigin("given", "tensor")
    if isinstance(source, ConstantDepth):
        return DepthOrigin("uniform", source.reason)
    return DepthOrigin("model", str(getattr(source, "name", type(source).__name__)))


class AutoDepth:
    """The default depth source: per photo, a map beside it, else a model, else uniform.

    Args:
        model: depth model: a folder, a hub id, or a short name (default Depth Anything V2
            Small).
        device: where the model runs.
        resolution: the model's input size (short side); smaller is faster. Default
            :data:`~depthstyle.depth.catalog.DEFAULT_DEPTH_SIZE`; ``None``: the model's own.
        download: allow the download on first use (still off when an offline variable is set).

    Calling it on an image (no path known) uses the model or the constant; :meth:`resolve`
    takes the photo's path into account. The model is loaded (or found missing) once.
    """

    name = "auto"

    def __init__(self, model: str = DEFAULT_DEPTH_MODEL, *, device: str | torch.device = "cpu",
                 resolution: int | None = DEFAULT_DEPTH_SIZE, download: bool = True) -> None:
        self.model_name = str(model)
        self.device, self.resolution, self.download = device, resolution, download
        self._model: DepthSource | None = None
        self._fallback: ConstantDepth | None = None
        self._lock = threading.RLock()
        self._cache: OrderedDict[tuple, torch.Tensor] = OrderedDict()
        self.cache_size = 8
        self.evaluations = 0

    # -- the model, loaded once --------------------------------------------------------------
    def model(self) -> DepthSource:
        """The monocular model, or a :class:`ConstantDepth` (with the reason) if none can be had.

        The first call looks on disk, then downloads if allowed; a failure is reported once
        (WARNING) and remembered.
        """
        with self._lock:
            if self._model is None and self._fallback is None:
                try:
                    self._model = self._load()
                except (DepthStyleError, OSError) as exc:
                    reason = str(exc).split(". ")[0].rstrip(".")
                    log.warning("no depth model (%s): photos without a depth map get uniform "
                                "strength. To get depth: %s", reason,
                                describe_missing(self.model_name))
                    self._fallback = ConstantDepth("no depth map and no depth model")
            return self._model if self._model is not None else self._fallback

    def _load(self) -> DepthSource:
        from depthstyle.depth.download import (
            download_with_progress,
            downloads_disabled,
            find_depth_model,
        )
        from depthstyle.depth.transformers_backend import load_transformers_depth, transformers_ok

        transformers_ok()  # one clear error first if the package is missing
        found = find_depth_model(self.model_name)
        if found is None:
            off = downloads_disabled() or (None if self.download else "download=False")
            if off or hub_entry(self.model_name) is None:
                raise DepthStyleError(f"depth model {self.model_name!r} is not on this machine"
                                      + (f" and downloads are off ({off})" if off else ""))
            log.info("downloading depth model %s (first use)", self.model_name)
            found = download_with_progress(self.model_name)
        backend = load_transformers_depth(str(found), device=self.device,
                                          resolution=self.resolution)
        backend.name = self.model_name
        return backend

    # -- per photo ----------------------------------------------------------------------------
    def resolve(self, photo: str | os.PathLike | None = None) -> DepthSource:
        """The source for ``photo``: the map beside it, else this source.

        This source is the model (cached per image) or, without one, uniform strength.
        """
        if photo is not None:
            beside = map_beside(photo)
            if beside is not None:
                return DepthMapFile(beside, kind_from_name(beside), origin="beside")
            embedded = _embedded(Path(photo))
            if embedded is not None:
                return embedded
        return self

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        """Proximity of ``image`` from the model (uniform without one).

        The last ``cache_size`` results are kept by a digest of the image, so the same photo
        with other styles or settings (batches, the web page's sliders, eval sweeps) runs the
        model once (:attr:`evaluations` counts the runs).
        """
        src = self.model()
        if isinstance(src, ConstantDepth):
            return src(image)
        key = (hashlib.sha1(image.detach().float().cpu().contiguous().numpy().tobytes())
               .hexdigest(), tuple(image.shape))
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key].to(image.device)
        p = src(image)
        with self._lock:
            self.evaluations += 1
            self._cache[key] = p.detach().cpu()
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return p


def _embedded(photo: Path) -> DepthMapFile | None:
    """The GDepth depth map inside a JPEG photo, if it has one.

    A broken one is warned about and skipped: the next source in the order is used.
    """
    if photo.suffix.lower() not in (".jpg", ".jpeg") or not photo.is_file():
        return None
    from depthstyle.depth.embedded import read_embedded_depth
    from depthstyle.errors import DepthMapError

    try:
        found = read_embedded_depth(photo)
        if found is None:
            return None
        return DepthMapFile(photo, "depth", origin="embedded", values=found[0],
                            name=f"{photo.name} ({found[1]})")
    except (ValueError, DepthMapError) as exc:
        log.warning("%s: its embedded depth map is not usable (%s); trying the next source",
                    photo.name, exc)
        return None


def make_depth_source(spec: str | os.PathLike | None, *, kind: DepthKind | None = None,
                      model: str = DEFAULT_DEPTH_MODEL, device: str | torch.device = "cpu",
                      resolution: int | None = DEFAULT_DEPTH_SIZE) -> DepthSource:
    """Build a depth source from ``"none"``, ``"auto"`` or a file path.

    Args:
        spec: ``None``/``"none"`` (constant), ``"auto"`` (:class:`~depthstyle.depth.AutoDepth`:
            a map beside each photo, else the monocular model ``model``, found or downloaded,
            else uniform), or a file.
        kind: how to read a file's values (``None``: from its name).
        model: depth model folder / hub id / short name for ``"auto"``.
        device: device of the depth model.
        resolution: input size of the depth model (short side).
    """
    if spec is None or str(spec) == "none":
        return ConstantDepth("depth source 'none'")
    if str(spec) == "auto":
        return AutoDepth(model, device=device, resolution=resolution)
    return DepthMapFile(spec, kind)
