"""Depth sources that need no model: the constant source and user depth-map files.

Every source is a callable ``source(image) -> proximity`` (see :class:`DepthSource`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from depthstyle.depth.maps import DepthKind, proximity_from_values
from depthstyle.errors import DepthMapError
from depthstyle.io import read_map_array

__all__ = ["DepthSource", "ConstantDepth", "DepthMapFile", "MAP_SUFFIXES", "find_depth_file",
           "kind_from_name"]

MAP_SUFFIXES = (".depth.png", ".depth.npy", ".depth.pfm", ".depth.tif", ".depth.tiff", ".png",
                ".npy", ".pfm", ".tif", ".tiff")


class DepthSource(Protocol):
    """Anything that maps images (B, 3, H, W) to proximity (B, 1, H, W) in [0, 1]."""

    def __call__(self, image: torch.Tensor) -> torch.Tensor: ...  # noqa: D102


class ConstantDepth:
    """No depth information: a flat proximity map (strength becomes uniform alpha).

    Args:
        reason: why there is no depth (reported by :func:`~depthstyle.depth.origin_of`).
    """

    name = "none"

    def __init__(self, reason: str = "no depth source given") -> None:
        self.reason = reason

    def __call__(self, image: torch.Tensor) -> torch.Tensor:  # noqa: D102
        b, _, h, w = image.shape
        return torch.zeros(b, 1, h, w, device=image.device, dtype=image.dtype)


class DepthMapFile:
    """A user-supplied depth or disparity map, read once and resized to each image.

    Args:
        path: PNG (8/16-bit), TIFF, ``.npy`` or ``.pfm``; or the file's bytes (an upload).
        kind: ``"depth"`` (larger = farther) or ``"disparity"`` (larger = nearer, also inverse
            depth); ``None``: from the file name (:func:`kind_from_name`), else depth.
        name: what error messages call the map (default: the path).
        origin: how it was found, as reported (:class:`~depthstyle.depth.DepthOrigin`):
            ``"file"`` (given), ``"beside"`` (next to its photo) or ``"embedded"`` (in it).
        values: the map's values (H, W) when they were already decoded (then ``path`` only
            names them).

    Raises:
        DepthMapError: unreadable file, not 2-D, or no valid value.
    """

    def __init__(self, path: str | os.PathLike | bytes, kind: DepthKind | None = None, *,
                 name: str | None = None, origin: str = "file",
                 values: np.ndarray | None = None) -> None:
        if isinstance(path, (bytes, bytearray)):
            self.path, label = None, name or "<bytes>"
        else:
            self.path, label = Path(path), name or str(path)
        self.kind: DepthKind = kind or kind_from_name(label)
        self.origin = origin
        self.label = label
        raw = values if values is not None else read_map_array(path, name=label)
        self._proximity = proximity_from_values(raw, self.kind, name=label)
        self.name = f"file:{self.path.name}" if self.path is not None else f"upload:{label}"

    @property
    def size(self) -> tuple[int, int]:
        """The map's (height, width)."""
        h, w = self._proximity.shape[-2:]
        return int(h), int(w)

    def __call__(self, image: torch.Tensor) -> torch.Tensor:  # noqa: D102
        b, _, h, w = image.shape
        src_h, src_w = self._proximity.shape[-2:]
        if abs(src_w / src_h - w / h) > 0.02 * (w / h):
            raise DepthMapError(
                f"{self.label}: aspect ratio {src_w}x{src_h} does not match the image {w}x{h}")
        p = torch.nn.functional.interpolate(self._proximity, size=(h, w), mode="bilinear",
                                            align_corners=False)
        return p.to(image.device, image.dtype).expand(b, -1, -1, -1).clamp(0, 1)


def kind_from_name(path: str | os.PathLike, default: DepthKind = "depth") -> DepthKind:
    """How to read a map by its name: ``"disparity"`` if it says so, else ``default``.

    ``x.disparity.png`` and ``disp_x.png`` are disparity maps.
    """
    name = Path(path).name.lower()
    return "disparity" if "disparity" in name or name.startswith("disp") else default


def find_depth_file(folder: str | os.PathLike, stem: str) -> Path | None:
    """The depth map of content ``stem`` in ``folder`` (``stem.depth.png``, ``stem.npy``...)."""
    for suffix in MAP_SUFFIXES:
        p = Path(folder) / f"{stem}{suffix}"
        if p.is_file():
            return p
    return None
