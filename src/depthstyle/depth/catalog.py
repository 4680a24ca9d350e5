"""Which depth models this library knows: short names, hub repositories, pinned files.

The lowest layer of :mod:`depthstyle.depth`: plain data and lookups, no imports from the
modules that load or download models (they import this one).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["DEFAULT_DEPTH_MODEL", "DEPTH_MODELS", "HubDepthModel", "DEPTH_DOWNLOADS",
           "hub_entry", "describe_missing"]

DEFAULT_DEPTH_MODEL = "depth-anything/Depth-Anything-V2-Small-hf"
DEPTH_MODELS = {
    "depth-anything-v2-small": DEFAULT_DEPTH_MODEL,
    "depth-anything-v2-base": "depth-anything/Depth-Anything-V2-Base-hf",
    "dpt-hybrid-midas": "Intel/dpt-hybrid-midas",
    "dpt-large": "Intel/dpt-large",
}


@dataclass(frozen=True)
class HubDepthModel:
    """A depth model's hub repository and the files this library needs from it.

    Args:
        repo: ``owner/name`` on the hub.
        revision: commit (or ``"main"`` where it is not pinned; see ``DEPTHSTYLE_DEPTH_REVISION``).
        files: file name -> pinned sha256 (``None``: not pinned, logged on download).
        license: the weights' licence.
    """

    repo: str
    revision: str
    files: Mapping[str, str | None] = field(default_factory=dict)
    license: str = ""

    @property
    def pinned_revision(self) -> str:
        """The revision to fetch: ``$DEPTHSTYLE_DEPTH_REVISION`` if set, else :attr:`revision`."""
        return os.environ.get("DEPTHSTYLE_DEPTH_REVISION") or self.revision

    def expected_sha256(self, filename: str) -> str | None:
        """The pinned digest of ``filename`` (``$DEPTHSTYLE_SHA256_<FILE>`` overrides)."""
        env = "DEPTHSTYLE_SHA256_" + "".join(c if c.isalnum() else "_" for c in filename).upper()
        return (os.environ.get(env) or self.files.get(filename) or None)


_TRANSFORMERS_FILES = ("config.json", "preprocessor_config.json", "model.safetensors")

DEPTH_DOWNLOADS: dict[str, HubDepthModel] = {
    "depth-anything-v2-small": HubDepthModel(
        "depth-anything/Depth-Anything-V2-Small-hf", "main",
        dict.fromkeys(_TRANSFORMERS_FILES), license="Apache-2.0"),
}


def hub_entry(name: str) -> HubDepthModel | None:
    """The download entry of ``name`` (a short name or a hub id), or ``None``."""
    if name in DEPTH_DOWNLOADS:
        return DEPTH_DOWNLOADS[name]
    repo = DEPTH_MODELS.get(name, name)
    for entry in DEPTH_DOWNLOADS.values():
        if entry.repo == repo:
            return entry
    return None


def describe_missing(name: str) -> str:
    """One line: how to get depth model ``name`` onto this machine."""
    entry = hub_entry(name)
    if entry is None:
        return f"pass a local folder of depth model {name!r} with --depth-model DIR"
    short = next(k for k, v in DEPTH_DOWNLOADS.items() if v is entry)
    return (f"run `depthstyle weights download {short}` once (about 100 MB), or give a depth "
            "map")
