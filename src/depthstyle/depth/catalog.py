"""Which depth models this library knows: short names, hub repositories, pinned files.

The lowest layer of :mod:`depthstyle.depth`: plain data and lookups, no imports from the
modules that load or download models (they import this one).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["DEFAULT_DEPTH_MODEL", "DEFAULT_DEPTH_SIZE", "DEPTH_MODELS", "HubDepthModel",
           "DEPTH_DOWNLOADS",
           "hub_entry", "describe_missing"]

# The depth network's input size (short side) unless told otherwise: benchmarks/depth_size.py
# measured the strength error of depth at this size against full resolution at 0.003 (worst of
# 35 scenes 0.007), and it costs a fifth of the native 518 px (benchmarks/RESULTS.md)
DEFAULT_DEPTH_SIZE = 266
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
        sizes: file name -> its size in bytes at that revision (shown by ``weights list``).
    """

    repo: str
    revision: str
    files: Mapping[str, str | None] = field(default_factory=dict)
    license: str = ""
    sizes: Mapping[str, int] = field(default_factory=dict)

    @property
    def pinned_revision(self) -> str:
        """The revision to fetch: ``$DEPTHSTYLE_DEPTH_REVISION`` if set, else :attr:`revision`."""
        return os.environ.get("DEPTHSTYLE_DEPTH_REVISION") or self.revision

    def expected_sha256(self, filename: str) -> str | None:
        """The pinned digest of ``filename`` (``$DEPTHSTYLE_SHA256_<FILE>`` overrides)."""
        env = "DEPTHSTYLE_SHA256_" + "".join(c if c.isalnum() else "_" for c in filename).upper()
        return (os.environ.get(env) or self.files.get(filename) or None)


# Depth Anything V2 Small (Apache-2.0; Base and Large are CC-BY-NC and stay out of the default)
# at a fixed commit of its hub repository, with every file's size and sha256.
DEPTH_DOWNLOADS: dict[str, HubDepthModel] = {
    "depth-anything-v2-small": HubDepthModel(
        "depth-anything/Depth-Anything-V2-Small-hf", "5426e4f0f36572d16453bbda7a8389317b1bef99",
        {"config.json": "c56698d3643dde1f83ea2212759e6b31a22b8f827246a36dd007ee8a22b3ff75",
         "preprocessor_config.json":
             "d41175c0d889477ca8fc67191e540faef14baf6275157b3fdecf78469e6bbf84",
         "model.safetensors": "3152477ce0d8d6978d76b995120de97cb5b928701fd0f817769f59e249a16b70"},
        license="Apache-2.0",
        sizes={"config.json": 950, "preprocessor_config.json": 775,
               "model.safetensors": 99_173_660}),
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
