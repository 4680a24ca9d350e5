"""The stylization pipeline: image -> proximity -> strength -> engine (restyle + decode) -> image.

:class:`Stylizer` *decides*: it validates settings and inputs, turns depth into proximity and
proximity into strength, caches style statistics, matches the painting's texture statistics
(:mod:`depthstyle.texture`) and applies colour preservation. An engine
(:mod:`depthstyle.engines`: PyTorch or onnxruntime) *executes* the networks. The CLI, the web
app, video, evaluation and the optimiser build :class:`StyleSettings` and call it, so they
cannot drift apart.

The restyle step (:func:`depthstyle.ops.restyle_encode`) acts *inside* the encoder: at each
selected level ``l`` the features are replaced by ``lerp(f_l, AdaIN(f_l, s_l), S_l)`` before
the next stage runs, where ``S_l`` is the strength map averaged to that level (Kitov et al.,
arXiv 1906.01123).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from depthstyle.color import luminance_transfer, match_color_histogram
from depthstyle.depth import (
    AutoDepth,
    DepthMapFile,
    DepthOrigin,
    DepthSource,
    make_depth_source,
    origin_of,
)
from depthstyle.engines import (
    Engine,
    RenderJob,
    Stats,
    StrengthMaps,
    TorchEngine,
    level_style_stats,
    select_device,
)
from depthstyle.errors import SettingsError
from depthstyle.io import DEFAULT_MAX_PIXELS, load_image, resize_image
from depthstyle.models import StyleModel, load_model
from depthstyle.models.encoder import level_index
from depthstyle.ops import all_finite, normalise_masks
from depthstyle.settings import ColorMode, StyleSettings
from depthstyle.strength import strength_from_proximity
from depthstyle.texture import match_texture, mix_texture_stats, texture_stats

__all__ = ["StyleSettings", "StylizeResult", "Stylizer", "select_device", "ColorMode",
           "Stats", "StrengthMaps"]

log = logging.getLogger(__name__)

ImageLike = torch.Tensor | str | os.PathLike


@dataclass
class StylizeResult:
    """Output of :meth:`Stylizer.__call__`.

    Attributes:
        image: (B, 3, H, W) stylized RGB in [0, 1], at the resized content's size.
        proximity: (B, 1, H, W) in [0, 1], 1 = nearest (zeros when depth is off).
        strength: (B, 1, H, W) in [0, 1], the per-pixel strength including alpha.
        content: (B, 3, H, W) the resized content the model saw.
        depth_origin: which source gave the depth (:class:`~depthstyle.depth.DepthOrigin`).
    """

    image: torch.Tensor
    proximity: torch.Tensor
    strength: torch.Tensor
    content: torch.Tensor = field(repr=False)
    depth_origin: DepthOrigin | None = None


class Stylizer:
    """Load a model once; stylize many images; cache style statistics.

    Args:
        model: a :class:`StyleModel` or a name/path for :func:`depthstyle.models.load_model`
            (ignored when ``engine`` is given).
        depth: the default depth source: ``"auto"`` (the default: a map beside each photo
            given by path, else the monocular model found on disk or downloaded on first use,
            else uniform strength with a warning; see :class:`~depthstyle.depth.AutoDepth`),
            ``None``/``"none"`` (no depth information), a depth-map path, or any source.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"`` (PyTorch engine).
        half: run encoder/decoder in float16 (only on CUDA; ignored on CPU).
        max_pixels: pixel limit for images loaded from paths.
        cache_size: how many styles' statistics to keep.
        tile_size: contents whose longer (padded) side exceeds this are processed in tiles of
            this size with whole-image statistics (bounded memory); ``None`` = never tile.
        tile_margin: context around each tile, in pixels.
        channels_last: run convolutions in NHWC memory layout (about 1.9x faster on CPU at
            512x512, see benchmarks/RESULTS.md; same results).
        border: reflect-padded border around the picture while rendering (pixels).
        engine: an engine to use instead of building a PyTorch one (e.g.
            :class:`~depthstyle.engines.onnx_engine.OnnxEngine`).

    Example:
        >>> s = Stylizer()  # doctest: +SKIP
        >>> out = s("photo.jpg", "painting.jpg", StyleSettings(alpha=0.8))  # doctest: +SKIP
        >>> out.image.shape  # doctest: +SKIP
        torch.Size([1, 3, 384, 512])
    """

    def __init__(self, model: StyleModel | str | os.PathLike = "depthstyle-lite0", *,
                 depth: DepthSource | str | os.PathLike | None = "auto",
                 device: str | torch.device = "auto",
                 half: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS,
                 cache_size: int = 16, tile_size: int | None = 2048,
                 tile_margin: int = 64, channels_last: bool = True, border: int = 16,
                 engine: Engine | None = None) -> None:
        if engine is None:
            model = model if isinstance(model, StyleModel) else load_model(model)
            engine = TorchEngine(model, select_device(device), half=half,
                                 channels_last=channels_last, tile_size=tile_size,
                                 tile_margin=tile_margin, border=border)
        self.engine = engine
        if depth is None or isinstance(depth, (str, os.PathLike)):
            depth = make_depth_source(depth, device=getattr(engine, "device", "cpu"))
        self.depth = depth
        self.max_pixels = max_pixels
        self._cache: OrderedDict[tuple, _StyleEntry] = OrderedDict()
        self.cache_size = cache_size
        self._hits = self._misses = 0
        self._cache_lock = threading.Lock()  # the web app calls from several threads
        self._digests = _TensorDigests()

    @classmethod
    def from_onnx(cls, folder: str | os.PathLike, *, threads: int | None = None,
                  **kwargs) -> Stylizer:
        """A stylizer on the onnxruntime engine of an export folder (``depthstyle export``)."""
        from depthstyle.engines.onnx_engine import OnnxEngine

        border = kwargs.pop("border", 16)
        return cls(engine=OnnxEngine(folder, threads=threads, border=border), **kwargs)

    # -- what front ends read -----------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        """Where the engine runs."""
        return self.engine.device

    @property
    def model_name(self) -> str:
        """Name of the loaded model (and backend, where not PyTorch)."""
        return self.engine.name

    @property
    def level_names(self) -> tuple[str, ...]:
        """Names of the levels settings may select (1-based numbers refer to these)."""
        return self.engine.level_names[: self.decode_level + 1]

    @property
    def decode_level(self) -> int:
        """0-based index of the deepest level the decoder reads."""
        return self.engine.decode_level

    @property
    def downsampling(self) -> int:
        """The decoded level's stride (the engine pads to multiples of it)."""
        return self.engine.downsampling

    @property
    def encoder_name(self) -> str:
        """Short name of the model's encoder (``lite0``, ``vgg19``...)."""
        return self.engine.encoder_name

    @property
    def has_learned_strength(self) -> bool:
        """Whether the model carries a learned strength module (``--strength learned``)."""
        return self.engine.has_learned_strength

    # -- inputs -------------------------------------------------------------------------------
    def _load(self, img: ImageLike, size: int | None) -> torch.Tensor:
        if isinstance(img, torch.Tensor):
            if img.ndim == 3:
                img = img.unsqueeze(0)
            if img.ndim != 4 or img.shape[1] != 3:
                raise ValueError(f"images must be (B, 3, H, W) RGB, got {tuple(img.shape)}")
            if not all_finite(img):
                raise ValueError("image tensor contains NaN or infinite values")
            t = img.detach().float().cpu().clamp(0, 1)
        else:
            t = load_image(img, max_pixels=self.max_pixels)
        return resize_image(t, size, upscale=False) if size else t

    def _style_key(self, style: ImageLike, size: int | None) -> tuple:
        if isinstance(style, torch.Tensor):
            return ("tensor", tuple(style.shape), self._digests(style), size)
        p = Path(style).resolve()
        st = p.stat() if p.exists() else None
        return ("file", str(p), st.st_mtime_ns if st else 0, st.st_size if st else 0, size)

    def style_stats(self, style: ImageLike, size: int | None = 512,
                    recolor_to: torch.Tensor | None = None) -> Stats:
        """Channel mean/std of the style at every level (cached unless recoloured)."""
        return self._style_entry(style, size, recolor_to, texture=False).stats

    def _style_entry(self, style: ImageLike, size: int | None, recolor_to: torch.Tensor | None,
                     *, texture: bool) -> _StyleEntry:
        """One style's cached statistics; texture statistics are added when first needed."""
        key = None if recolor_to is not None else self._style_key(style, size)
        with self._cache_lock:
            entry = self._cache.get(key) if key is not None else None
            if entry is not None:
                self._cache.move_to_end(key)
                self._hits += 1
            else:
                self._misses += 1
        if entry is not None and (entry.texture is not None or not texture):
            return entry
        img = self._load(style, size)
        if recolor_to is not None:
            img = match_color_histogram(img, recolor_to.cpu())
        entry = _StyleEntry(entry.stats if entry is not None else self.engine.style_stats(img),
                            texture_stats(img) if texture else None)
        if key is not None:
            with self._cache_lock:
                self._cache[key] = entry
                self._cache.move_to_end(key)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return entry

    def cache_info(self) -> dict[str, int]:
        """Style-statistics cache counters: ``hits``, ``misses``, ``size``, ``max_size``."""
        return {"hits": self._hits, "misses": self._misses, "size": len(self._cache),
                "max_size": self.cache_size}

    # -- settings -----------------------------------------------------------------------------
    def check(self, settings: StyleSettings) -> None:
        """Validate ``settings`` against this stylizer's model (raises :class:`SettingsError`)."""
        settings.validate()
        self._levels(settings)
        if settings.learned_strength:
            self._check_learned(settings)

    def _levels(self, settings: StyleSettings) -> list[int]:
        names, top = self.engine.level_names, self.decode_level
        if not settings.levels:
            return list(self.engine.default_levels)
        try:
            levels = sorted({level_index(names, lv) for lv in settings.levels})
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
        if levels[-1] > top:
            raise SettingsError(
                f"level {names[levels[-1]]} is deeper than the level this model "
                f"decodes ({top + 1}, {names[top]}); use levels 1..{top + 1}")
        return levels

    def _check_learned(self, settings: StyleSettings) -> None:
        if not self.has_learned_strength:
            raise SettingsError(f"model {self.model_name} has no learned strength module; train "
                                "one with `depthstyle train --learn-strength` (or use the "
                                "PyTorch backend)")
        if settings.levels:
            raise SettingsError("learned strength sets every level itself; drop --levels")

    # -- the steps ----------------------------------------------------------------------------
    def load_style(self, style: ImageLike, settings: StyleSettings) -> torch.Tensor:
        """A style image as the model sees it: (1, 3, H, W), resized to ``style_size``."""
        return self._load(style, settings.style_size)

    def load_content(self, content: ImageLike, settings: StyleSettings) -> torch.Tensor:
        """The content as the model sees it: resized to ``content_size``, cropped if asked."""
        img = self._load(content, settings.content_size)
        if settings.crop:
            h, w = img.shape[-2:]
            side = min(h, w)
            top, left = (h - side) // 2, (w - side) // 2
            img = img[..., top: top + side, left: left + side]
        return img

    def proximity(self, content: torch.Tensor, settings: StyleSettings,
                  depth: DepthSource | torch.Tensor | str | os.PathLike | None = None
                  ) -> torch.Tensor:
        """Proximity of ``content`` (B, 3, H, W): (B, 1, H, W) in [0, 1], 1 = nearest.

        ``depth`` overrides the stylizer's source: a source, a proximity tensor, or a depth-map
        path (its kind from its name). Zeros when ``settings.depth_aware`` is off.
        """
        b, _, h, w = content.shape
        if not settings.depth_aware:
            return torch.zeros(b, 1, h, w)
        src = depth if depth is not None else self.depth
        if isinstance(src, torch.Tensor):
            p = src.float()
            p = p[None, None] if p.ndim == 2 else p[None] if p.ndim == 3 else p
            if p.ndim != 4 or p.shape[1] != 1:
                raise ValueError(f"proximity must be (B, 1, H, W), got {tuple(src.shape)}")
            if not all_finite(p):
                raise ValueError("proximity tensor contains NaN or infinite values")
            p = p.cpu()
            if p.shape[-2:] != (h, w):
                p = F.interpolate(p, size=(h, w), mode="bilinear", align_corners=False)
            return p.clamp(0, 1)
        if isinstance(src, (str, os.PathLike)):
            src = DepthMapFile(src)
        return src(content.to(self.device)).float().cpu().clamp(0, 1)

    def strength(self, proximity: torch.Tensor, settings: StyleSettings,
                 content: torch.Tensor | None = None,
                 style_stats: Sequence[Stats] | None = None) -> StrengthMaps:
        """Strength from proximity: one (B, 1, H, W) map, or per-level maps (learned).

        The learned module also needs the ``content`` and the ``style_stats`` (one per style,
        mixed with ``settings.style_weights``).
        """
        if settings.learned_strength:
            self._check_learned(settings)
            if content is None or not style_stats:
                raise ValueError("learned strength needs the content and the style statistics")
            return self.engine.learned_strength(
                proximity, content, _mixed(style_stats, settings.style_weights),
                offset=settings.offset, contrast=settings.contrast, alpha=settings.alpha,
                invert=settings.invert)
        return strength_from_proximity(proximity, settings.offset, settings.contrast,
                                       alpha=settings.alpha, invert=settings.invert)

    # -- main entry ---------------------------------------------------------------------------
    def __call__(
        self,
        content: ImageLike,
        styles: ImageLike | Sequence[ImageLike],
        settings: StyleSettings | None = None,
        *,
        depth: DepthSource | torch.Tensor | str | os.PathLike | None = None,
        masks: torch.Tensor | None = None,
        strength: torch.Tensor | None = None,
        name: str | None = None,
    ) -> StylizeResult:
        """Stylize ``content`` with one or several ``styles``.

        Args:
            content: (B, 3, H, W) RGB in [0, 1] or an image path.
            styles: one style (tensor or path) or a list; several styles are interpolated with
                ``settings.style_weights``, or routed to regions by ``masks``.
            settings: :class:`StyleSettings` (defaults if omitted).
            depth: overrides the stylizer's depth source for this call: a source, a proximity
                tensor (1 = near), or a depth-map path (disparity if its name says so).
            masks: (1, K, H', W') soft masks, one channel per style (spatial control); resized
                to the content.
            strength: (B, 1, H', W') strength map in [0, 1] that replaces the one computed from
                depth and settings (e.g. a temporally smoothed map); depth is then not computed
                and ``proximity`` is returned as zeros. Per-level maps (learned strength) are
                given as a list.
            name: what the log line of the depth's origin calls the image (default: the file
                name of a content path, else "image").

        Returns:
            :class:`StylizeResult`.

        Raises:
            SettingsError, ValueError: invalid settings or inputs (checked before any work).
            ImageReadError, DepthMapError: unreadable inputs.
        """
        settings = settings or StyleSettings()
        style_list = self._check_call(settings, styles, masks, strength)
        levels = self._levels(settings)
        content_img = self.load_content(content, settings)
        size = content_img.shape[-2:]
        if masks is not None:
            mh, mw = masks.shape[-2:]
            if abs(mw / mh - size[1] / size[0]) > 0.02 * (size[1] / size[0]):
                # the same rule as for depth maps: resized, never stretched
                raise SettingsError(f"mask aspect ratio {mw}x{mh} does not match the content "
                                    f"{size[1]}x{size[0]}")
            masks = F.interpolate(masks.float(), size=size, mode="bilinear", align_corners=False)
        recolor = content_img if settings.preserve_color == "histogram" else None
        entries = [self._style_entry(s, settings.style_size, recolor,
                                     texture=settings.texture_match > 0) for s in style_list]
        stats = [e.stats for e in entries]
        if strength is not None:
            run_strength = _given_strength(strength, size)
            proximity = torch.zeros(content_img.shape[0], 1, *size)
            origin = DepthOrigin("given", "strength map")
        else:
            source = self.depth_source(content, depth)
            proximity = self.proximity(content_img, settings, source)
            run_strength = self.strength(proximity, settings, content_img, stats)
            origin = origin_of(source) if settings.depth_aware else DepthOrigin("off")
            if name is None:
                name = Path(content).name if isinstance(content, (str, os.PathLike)) \
                    else "image"
            log.info("%s: %s", name, origin.describe())
        if isinstance(run_strength, list):  # learned: every level, one map per level
            levels = list(range(self.decode_level + 1))
        image = self.engine.render(RenderJob(
            content=content_img, strength=run_strength, levels=levels, styles=stats,
            weights=settings.style_weights, masks=masks, detail=settings.detail))
        shown = run_strength[-1].mean(1, keepdim=True) if isinstance(run_strength, list) \
            else run_strength
        if settings.texture_match > 0:
            image = _texture_step(image, [e.texture for e in entries], shown, settings, masks)
        if settings.preserve_color == "luminance":
            image = luminance_transfer(image, content_img)
        return StylizeResult(image=image, proximity=proximity, strength=shown,
                             content=content_img, depth_origin=origin)

    def depth_source(self, content: ImageLike,
                     depth: DepthSource | torch.Tensor | str | os.PathLike | None = None
                     ) -> DepthSource | torch.Tensor:
        """The source that gives ``content``'s depth.

        ``depth`` if given (a path is read as a map, its kind from its name), else the
        stylizer's; ``"auto"`` looks beside a photo given by path first
        (:meth:`AutoDepth.resolve`).
        """
        if depth is not None:
            return DepthMapFile(depth) if isinstance(depth, (str, os.PathLike)) else depth
        if isinstance(self.depth, AutoDepth):
            photo = content if isinstance(content, (str, os.PathLike)) else None
            return self.depth.resolve(photo)
        return self.depth

    def _check_call(self, settings: StyleSettings, styles, masks, strength) -> list:
        """Every check that needs no image, before any work."""
        settings.validate()
        style_list = list(styles) if isinstance(styles, (list, tuple)) else [styles]
        if not style_list:
            raise SettingsError("at least one style is required")
        weights = settings.style_weights
        if weights is not None and len(weights) != len(style_list):
            raise SettingsError(f"{len(weights)} style weights for {len(style_list)} styles")
        if masks is not None:
            if masks.ndim != 4 or masks.shape[1] != len(style_list):
                raise SettingsError(f"masks must have one channel per style ({len(style_list)}),"
                                    f" got shape {tuple(masks.shape)}")
            if not self.engine.supports_masks:
                raise SettingsError(f"spatial style masks are not supported by "
                                    f"{self.model_name}; use the PyTorch backend")
        self._levels(settings)
        if settings.learned_strength:
            self._check_learned(settings)
            if strength is not None and not isinstance(strength, list):
                raise SettingsError("learned strength makes its own maps from proximity; it "
                                    "cannot take one given strength map")
            if masks is not None:
                raise SettingsError("learned strength cannot be combined with style masks")
        return style_list


def _given_strength(strength: StrengthMaps, size) -> StrengthMaps:
    """Check and resize a caller's strength map (or per-level maps) to the content's size."""
    maps = strength if isinstance(strength, list) else [strength]
    out = []
    for s in maps:
        if not isinstance(s, torch.Tensor) or s.ndim != 4 or not all_finite(s):
            raise ValueError(f"strength must be a finite (B, 1, H, W) map, got "
                             f"{getattr(s, 'shape', type(s).__name__)}")
        out.append(F.interpolate(s.float().cpu(), size=tuple(size), mode="bilinear",
                                 align_corners=False).clamp(0, 1))
    if not isinstance(strength, list) and out[0].shape[1] != 1:
        raise ValueError(f"strength must be (B, 1, H, W), got {tuple(strength.shape)}")
    return out if isinstance(strength, list) else out[0]


class _TensorDigests:
    """SHA-1 digests of tensors' values, remembered per tensor object while it is unchanged.

    Hashing a style image's values costs more than a GPU's whole stylization of a 512² photo
    (8 ms for an 800x591 style on the 2-core machine), so the digest of a tensor is kept with a
    weak reference to the tensor and its version counter, which PyTorch bumps on every in-place
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


@dataclass(frozen=True)
class _StyleEntry:
    """What the style cache keeps of one style image."""

    stats: Stats
    texture: torch.Tensor | None = None


def _texture_step(image: torch.Tensor, textures: Sequence[torch.Tensor], strength: torch.Tensor,
                  settings: StyleSettings, masks: torch.Tensor | None) -> torch.Tensor:
    """The painting's texture statistics where the image is stylized (docs/method.md 5d).

    Several styles are mixed by their weights; with region masks each style's match acts in
    its region: ``image + sum_k (match_k(S * m_k) - image)`` (the normalised masks sum to 1).
    """
    amount = settings.texture_match
    if masks is None:
        tex = textures[0] if len(textures) == 1 else mix_texture_stats(
            textures, settings.style_weights or [1.0] * len(textures))
        return match_texture(image, tex, strength, amount)
    weights = normalise_masks(masks, image.shape[-2:])
    out = image
    for k, tex in enumerate(textures):
        out = out + match_texture(image, tex, strength * weights[:, k: k + 1], amount) - image
    return out.clamp(0, 1)


def _mixed(stats_per_style: Sequence[Stats], weights: Sequence[float] | None) -> Stats:
    """One style's statistics, or several styles' interpolated level by level."""
    return [level_style_stats(stats_per_style, weights, None, i)
            for i in range(len(stats_per_style[0]))]
