"""The ONNX export of a registry model, made once into the cache (``--backend onnxruntime``)."""

from __future__ import annotations

import logging
from pathlib import Path

from depthstyle.export.onnx_export import export_onnx
from depthstyle.weights import cache_dir, resolve_name

__all__ = ["cached_export"]

log = logging.getLogger(__name__)


def cached_export(model: str) -> Path:
    """The cache folder holding the export of ``model``; exported there once if missing.

    The folder is named after the resolved registry name, so an alias that moves to a new
    release (``depthstyle-lite0``) never reuses the old release's export.
    """
    name = resolve_name(model)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(name).name)
    folder = cache_dir() / "onnx" / safe
    if not (folder / "manifest.json").is_file():
        log.warning("exporting %s to ONNX once, into %s (about 20 s)", model, folder)
        export_onnx(model, folder, overwrite=True)
    return folder
