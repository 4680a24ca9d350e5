"""The style cache: each painting's statistics, computed once and kept by what the painting is.

A painting used again (batches, the web page's sliders, video frames, eval sweeps) is not
encoded again: its per-level AdaIN statistics, and its texture statistics once a call needs
them, are kept in a small LRU keyed by the file (path, mtime, size) or by a digest of the
tensor's values, plus the size it was resized to. Recoloured styles (histogram colour
preservation) depend on the content and are never cached.
"""

from __future__ import annotations

import hashlib
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from depthstyle.color import match_color_histogram
from depthstyle.engines import Stats
from depthstyle.texture import texture_stats

__all__ = ["StyleCache", "StyleEntry", "TensorDigests"]

ImageLike = torch.Tensor | str | os.PathLike


@dataclass(frozen=True)
class StyleEntry:
    """What the cache keeps of one style image: AdaIN statistics, texture statistics."""

    stats: Stats
    texture: torch.Tensor | None = None


class StyleCache:
    """An LRU of :class:`StyleEntry`, safe to call from several threads.

    Args:
        load: ``load(style, size) -> (1, 3, H, W)`` image as the model sees it.
        encode: ``encode(image) -> Stats`` (the engine's per-level statistics).
        size: how many styles to keep.
    """

    def __init__(self, load: Callable[[ImageLike, int | None], torch.Tensor],
                 encode: Callable[[torch.Tensor], Stats], size: int = 16) -> None:
        self.load, self.encode, self.size = load, encode, size
        self._entries: OrderedDict[tuple, StyleEntry] = OrderedDict()
        self._lock = threading.Lock()  # the web app calls from several threads
        self._digests = TensorDigests()
        self.hits = self.misses = 0

    def key(self, style: ImageLike, size: int | None) -> tuple:
        """What identifies a style: its file and mtime, or its tensor's values; and the size."""
        if isinstance(style, torch.Tensor):
            return ("tensor", tuple(style.shape), self._digests(style), size)
        p = Path(style).resolve()
        st = p.stat() if p.exists() else None
        return ("file", str(p), st.st_mtime_ns if st else 0, st.st_size if st else 0, size)

    def get(self, style: ImageLike, size: int | None, recolor_to: torch.Tensor | None = None,
            *, texture: bool = False) -> StyleEntry:
        """One style's statistics; texture statistics are added when first asked for."""
        key = None if recolor_to is not None else self.key(style, size)
        with self._lock:
            entry = self._entries.get(key) if key is not None else None
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits += 1
            else:
                self.misses += 1
        if entry is not None and (entry.texture is not None or not texture):
            return entry
        img = self.load(style, size)
        if recolor_to is not None:
            img = match_color_histogram(img, recolor_to.cpu())
        entry = StyleEntry(entry.stats if entry is not None else self.encode(img),
                           texture_stats(img) if texture else None)
        if key is not None:
            with self._lock:
                self._entries[key] = entry
                self._entries.move_to_end(key)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return entry

    def info(self) -> dict[str, int]:
        """Counters: ``hits``, ``misses``, ``size``, ``max_size``."""
        return {"hits": self.hits, "misses": self.misses, "size": len(self._entries),
                "max_size": self.size}


class TensorDigests:
    """SHA-1 digests of tensors' values, remembered per tensor object while it is unchanged.

    Hashing a style image's values costs more than a GPU's whole stylization of a 512² photo
    (8 ms for an 800x591 style on a 2-core CPU), so the digest of a tensor is kept with a weak
    reference to the tensor and its version counter, which PyTorch bumps on every in-place
    change: the same, unchanged tensor object is hashed once. A changed, new or inference-mode
    tensor (which counts no versions) is hashed again. Writes through a NumPy view of the tensor
    are invisible to PyTorch; pass a fresh tensor after such a change.
    """

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._memo: OrderedDict[int, tuple] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _version(t: torch.Tensor) -> int | None:
        try:
            return t._version
        except RuntimeError:  # inference tensors track no version
            return None

    def __call__(self, t: torch.Tensor) -> str:
        """The hex digest of ``t``'s values."""
        version = self._version(t)
        ident = (t.data_ptr(), tuple(t.shape), t.stride(), t.dtype, str(t.device))
        if version is not None:
            with self._lock:
                hit = self._memo.get(id(t))
            if hit is not None and hit[0]() is t and hit[1:3] == (version, ident):
                return hit[3]
        digest = hashlib.sha1(t.detach().float().cpu().contiguous().numpy().tobytes())
        digest = digest.hexdigest()
        if version is not None:
            with self._lock:
                self._memo[id(t)] = (weakref.ref(t), version, ident, digest)
                self._memo.move_to_end(id(t))
                while len(self._memo) > self.size:
                    self._memo.popitem(last=False)
        return digest
