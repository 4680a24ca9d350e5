"""Monocular depth models: where they are on disk, and their download on first use.

A depth model is a Hugging Face repository in the ``transformers`` layout (``config.json``,
``preprocessor_config.json``, ``model.safetensors``). :func:`find_depth_model` looks for it,
in this order, without any network access:

1. a folder given by the user (``--depth-model DIR``);
2. this library's cache, ``<cache>/depth/<owner>--<name>/<revision>/`` (see
   :func:`depthstyle.weights.cache_dir`), where :func:`download_depth_model` puts it;
3. the Hugging Face cache (``transformers`` finds it by its hub id).

:func:`download_depth_model` fetches the files from ``$HF_ENDPOINT`` (default
``https://huggingface.co``) at the entry's revision with :func:`depthstyle.weights.download_file`
(atomic, checked sha256 where the digest is pinned; nothing is kept when a check fails), then
writes ``depthstyle-lock.json`` with every file's digest; a later load re-checks the files
against it, so a damaged cache is found and not used. No download happens when
``DEPTHSTYLE_OFFLINE=1`` or ``HF_HUB_OFFLINE=1`` is set.

Depth Anything V2 Small is pinned (:data:`depthstyle.depth.catalog.DEPTH_DOWNLOADS`): a commit
of its hub repository and every file's sha256, which each download is checked against.
``DEPTHSTYLE_DEPTH_REVISION=<commit>`` and ``DEPTHSTYLE_SHA256_<FILE>=<hex>`` (e.g.
``DEPTHSTYLE_SHA256_MODEL_SAFETENSORS``) pin another revision; a file with no digest at all is
logged with the digest it got, and the lock file holds it from then on.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

from depthstyle.depth.catalog import DEPTH_DOWNLOADS, DEPTH_MODELS, HubDepthModel, hub_entry
from depthstyle.errors import WeightsError
from depthstyle.weights import cache_dir, download_file, sha256_of

__all__ = ["hub_endpoint", "downloads_disabled", "find_depth_model", "download_depth_model",
           "download_with_progress", "model_cache_dir", "LOCK_FILE"]

log = logging.getLogger(__name__)
LOCK_FILE = "depthstyle-lock.json"


def hub_endpoint() -> str:
    """The hub's base URL: ``$HF_ENDPOINT`` (as the hub's own client reads it) or the hub."""
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def downloads_disabled() -> str | None:
    """Why downloads are off (the variable that says so), or ``None`` if they are allowed."""
    for var in ("DEPTHSTYLE_OFFLINE", "HF_HUB_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on"):
            return f"{var}={os.environ[var]}"
    return None


def model_cache_dir(entry: HubDepthModel) -> Path:
    """Where :func:`download_depth_model` puts ``entry``."""
    return cache_dir() / "depth" / entry.repo.replace("/", "--") / entry.pinned_revision


def _check_lock(folder: Path) -> bool:
    """True if every file of the folder's lock is there with its recorded digest."""
    lock = folder / LOCK_FILE
    if not lock.is_file():
        return False
    try:
        files = json.loads(lock.read_text())["files"]
    except (ValueError, KeyError, TypeError):
        log.warning("%s: unreadable lock file; the cached model is not used", lock)
        return False
    for name, digest in files.items():
        path = folder / name
        if not path.is_file() or sha256_of(path) != digest:
            log.warning("%s: missing or changed since it was downloaded (sha256 differs from "
                        "%s); the cached model is not used", path, LOCK_FILE)
            return False
    return True


def find_depth_model(name: str) -> Path | str | None:
    """A loadable source of depth model ``name`` on this machine, without the network.

    Returns:
        a folder (given, or in this library's cache), the hub id when the Hugging Face cache
        holds it, or ``None``.
    """
    if Path(name).is_dir():
        return Path(name)
    entry = hub_entry(name)
    if entry is not None:
        folder = model_cache_dir(entry)
        if folder.is_dir() and _check_lock(folder):
            return folder
    repo = DEPTH_MODELS.get(name, name)
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    try:
        hit = try_to_load_from_cache(repo, "config.json")
    except Exception:  # noqa: BLE001 - a malformed id or cache means "not cached"
        return None
    return repo if isinstance(hit, str) else None


def download_depth_model(name: str, *,
                         progress: Callable[[str, int, int | None], None] | None = None,
                         timeout: float = 30.0) -> Path:
    """Download depth model ``name`` into the cache (see the module doc) and return its folder.

    Args:
        name: a short name of :data:`DEPTH_DOWNLOADS` (or its hub id).
        progress: called with (file name, bytes so far, total or None).
        timeout: per-connection timeout in seconds.

    Raises:
        WeightsError: unknown model, or downloads are disabled.
        DownloadError: a file could not be fetched or failed its sha256 check (nothing of it
            is kept).
    """
    entry = hub_entry(name)
    if entry is None:
        raise WeightsError(f"{name!r}: no download is known for this depth model; known: "
                           f"{', '.join(DEPTH_DOWNLOADS)} (or give a folder with --depth-model)")
    off = downloads_disabled()
    if off:
        raise WeightsError(f"depth model {entry.repo} is not on this machine and downloads are "
                           f"off ({off})")
    folder = model_cache_dir(entry)
    folder.mkdir(parents=True, exist_ok=True)
    base = f"{hub_endpoint()}/{entry.repo}/resolve/{entry.pinned_revision}/"
    digests = {}
    try:
        for filename in entry.files:
            def report(done, total, filename=filename):
                if progress:
                    progress(filename, done, total)
            want = entry.expected_sha256(filename)
            path = download_file((base + filename,), folder / filename, want, progress=report,
                                 timeout=timeout, warn_unpinned=False)
            digests[filename] = want or sha256_of(path)
    except BaseException:
        for filename in digests:  # all or nothing: no half-downloaded model stays
            (folder / filename).unlink(missing_ok=True)
        raise
    unpinned = [f for f in entry.files if not entry.expected_sha256(f)]
    if unpinned:
        log.warning("depth model %s@%s: %s downloaded without pinned checksums; their sha256 "
                    "are recorded in %s and checked from now on", entry.repo,
                    entry.pinned_revision, ", ".join(unpinned), folder / LOCK_FILE)
    (folder / LOCK_FILE).write_text(json.dumps(
        {"repo": entry.repo, "revision": entry.pinned_revision, "endpoint": hub_endpoint(),
         "files": digests, "pinned": {f: bool(entry.expected_sha256(f)) for f in entry.files}},
        indent=2) + "\n")
    log.info("depth model %s downloaded to %s", entry.repo, folder)
    return folder


def download_with_progress(name: str) -> Path:
    """:func:`download_depth_model` with one progress bar per file.

    The bars are hidden without a terminal.
    """
    from tqdm.auto import tqdm

    bars: dict[str, tqdm] = {}

    def progress(filename: str, done: int, total: int | None) -> None:
        bar = bars.get(filename)
        if bar is None:
            bar = bars[filename] = tqdm(total=total, unit="B", unit_scale=True,
                                        desc=f"downloading {filename}", disable=None)
        bar.update(done - bar.n)

    try:
        return download_depth_model(name, progress=progress)
    finally:
        for bar in bars.values():
            bar.close()
