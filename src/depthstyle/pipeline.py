"""The stylization pipeline: image -> proximity -> strength -> encode + AdaIN -> decode -> image.

:class:`Stylizer` loads a model once and is then called with images and a frozen
:class:`StyleSettings`. The CLI, the evaluation runner and (later) the web app only build settings
and call it, so they cannot drift apart.

Depth-aware strength acts *inside* the encoder: at each selected level ``l`` the features are
replaced by ``lerp(f_l, AdaIN(f_l, s_l), S_l)`` before the next stage runs, where ``S_l`` is the
strength map resized to that level (Kitov et al., arXiv 1906.01123). With only the deepest level
selected this is the classic AdaIN model with a per-pixel alpha.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F

from depthstyle.depth import ConstantDepth, DepthMapFile, DepthSource
from depthstyle.errors import SettingsError
from depthstyle.io import DEFAULT_MAX_PIXELS, load_image, resize_image
from depthstyle.models import StyleModel, load_model
from depthstyle.models.encoder import level_index
from depthstyle.ops import (
    adain_from_stats,
    calc_mean_std,
    luminance_transfer,
    masked_adain,
    match_color_histogram,
    mix_style_stats,
    resize_map,
)
from depthstyle.strength import (
    DEFAULT_CONTRAST,
    DEFAULT_OFFSET,
    check_strength_params,
    strength_from_proximity,
)

__all__ = ["StyleSettings", "StylizeResult", "Stylizer", "select_device"]

log = logging.getLogger(__name__)

ColorMode = Literal["luminance", "histogram"]
ImageLike = torch.Tensor | str | os.PathLike
Stats = list[tuple[torch.Tensor, torch.Tensor]]
StrengthMaps = torch.Tensor | list[torch.Tensor]  # one map for all levels, or one per level


@dataclass(frozen=True)
class StyleSettings:
    """How to stylize; every field has a safe default.

    Attributes:
        alpha: global strength in [0, 1] (0 = content reconstruction).
        offset: minimum strength fraction in [0, 1] (see :mod:`depthstyle.strength`).
        contrast: sharpness of the near/far split, >= 0.
        levels: encoder levels (1-based numbers or tap names) where strength acts; empty =
            the deepest level only.
        invert: stylize near regions instead of far ones.
        depth_aware: use the proximity map; ``False`` = uniform strength ``alpha``.
        preserve_color: ``None``, ``"luminance"`` (stylized luminance + content colours) or
            ``"histogram"`` (style recoloured to the content's colour statistics first).
        style_weights: interpolation weights, one per style (default: equal).
        content_size: maximum longer side of the content in pixels; larger images are shrunk,
            smaller ones kept (``None`` = keep).
        style_size: maximum longer side of each style image (``None`` = keep).
        crop: centre-crop the content to a square after resizing.
        learned_strength: use the model's learned strength module (per-level, per channel
            group maps refined from the hand-set transform; see
            :mod:`depthstyle.models.strength_net`) instead of the hand-set map.
    """

    alpha: float = 1.0
    offset: float = DEFAULT_OFFSET
    contrast: float = DEFAULT_CONTRAST
    levels: tuple[int | str, ...] = ()
    invert: bool = False
    depth_aware: bool = True
    preserve_color: ColorMode | None = None
    style_weights: tuple[float, ...] | None = None
    content_size: int | None = 512
    style_size: int | None = 512
    crop: bool = False
    learned_strength: bool = False

    def validate(self) -> None:
        """Raise :class:`SettingsError` for invalid values."""
        check_strength_params(self.offset, self.contrast, self.alpha)
        if self.preserve_color not in (None, "luminance", "histogram"):
            raise SettingsError(f"preserve_color must be None, 'luminance' or 'histogram', got "
                                f"{self.preserve_color!r}")
        for name in ("content_size", "style_size"):
            v = getattr(self, name)
            if v is not None and not (16 <= v <= 8192):
                raise SettingsError(f"{name} must be between 16 and 8192 pixels, got {v}")


@dataclass
class StylizeResult:
    """Output of :meth:`Stylizer.__call__`.

    Attributes:
        image: (B, 3, H, W) stylized RGB in [0, 1], at the resized content's size.
        proximity: (B, 1, H, W) in [0, 1], 1 = nearest (zeros when depth is off).
        strength: (B, 1, H, W) in [0, 1], the per-pixel strength including alpha.
        content: (B, 3, H, W) the resized content the model saw.
    """

    image: torch.Tensor
    proximity: torch.Tensor
    strength: torch.Tensor
    content: torch.Tensor = field(repr=False)


def select_device(device: str | torch.device | None = "auto") -> torch.device:
    """``"auto"`` picks cuda, then mps, then cpu; otherwise the named device (checked)."""
    if device in (None, "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SettingsError("--device cuda requested but CUDA is not available")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None)
                                  and torch.backends.mps.is_available()):
        raise SettingsError("--device mps requested but MPS is not available")
    return dev


class Stylizer:
    """Load a model once; stylize many images; cache style statistics.

    Args:
        model: a :class:`StyleModel` or a name/path for :func:`depthstyle.models.load_model`.
        depth: the default depth source (``None`` = no depth information).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"``.
        half: run encoder/decoder in float16 (only on CUDA; ignored on CPU).
        max_pixels: pixel limit for images loaded from paths.
        cache_size: how many styles' statistics to keep.
        tile_size: contents whose longer (padded) side exceeds this are processed in tiles of
            this size with whole-image statistics (bounded memory); ``None`` = never tile.
        tile_margin: context around each tile, in pixels.
        channels_last: run convolutions in NHWC memory layout (about 1.9x faster on CPU at
            512x512, see benchmarks/RESULTS.md; same results).

    Example:
        >>> s = Stylizer()  # doctest: +SKIP
        >>> out = s("photo.jpg", "painting.jpg", StyleSettings(alpha=0.8))  # doctest: +SKIP
        >>> out.image.shape  # doctest: +SKIP
        torch.Size([1, 3, 384, 512])
    """

    def __init__(self, model: StyleModel | str | os.PathLike = "depthstyle-lite0", *,
                 depth: DepthSource | None = None, device: str | torch.device = "auto",
                 half: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS,
                 cache_size: int = 16, tile_size: int | None = 2048,
                 tile_margin: int = 64, channels_last: bool = True) -> None:
        self.device = select_device(device)
        self.model = model if isinstance(model, StyleModel) else load_model(model)
        self.model.to(self.device).eval()
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model.to(memory_format=self.memory_format)
        self.half = bool(half) and self.device.type == "cuda"
        self.dtype = torch.float16 if self.half else torch.float32
        if self.half:
            self.model.half()
            if getattr(self.model, "strength_net", None) is not None:
                self.model.strength_net.float()  # tiny; its inputs are float32 statistics
        self._init_inputs(depth, max_pixels, cache_size)
        m = self.model.downsampling
        if tile_size is not None and (tile_size < 4 * m or tile_margin < 0):
            raise SettingsError(f"tile size must be at least {4 * m} px and margin >= 0")
        self.tile_size = None if tile_size is None else tile_size // m * m
        self.tile_margin = -(-tile_margin // m) * m

    def _init_inputs(self, depth: DepthSource | None, max_pixels: int, cache_size: int) -> None:
        """State of the backend-independent part: depth source, limits, style cache."""
        self.depth = depth or ConstantDepth()
        self.max_pixels = max_pixels
        self._cache: OrderedDict[tuple, Stats] = OrderedDict()
        self.cache_size = cache_size
        self._hits = self._misses = 0
        self._cache_lock = threading.Lock()  # the web app calls from several threads

    # -- inputs -------------------------------------------------------------------------------
    def _load(self, img: ImageLike, size: int | None) -> torch.Tensor:
        if isinstance(img, torch.Tensor):
            if img.ndim == 3:
                img = img.unsqueeze(0)
            if img.ndim != 4 or img.shape[1] != 3:
                raise ValueError(f"images must be (B, 3, H, W) RGB, got {tuple(img.shape)}")
            if not torch.isfinite(img).all():
                raise ValueError("image tensor contains NaN or infinite values")
            t = img.float().clamp(0, 1)
        else:
            t = load_image(img, max_pixels=self.max_pixels)
        return resize_image(t, size, upscale=False) if size else t

    def _style_key(self, style: ImageLike, size: int | None) -> tuple:
        if isinstance(style, torch.Tensor):
            digest = hashlib.sha1(style.detach().float().cpu().contiguous().numpy().tobytes())
            return ("tensor", tuple(style.shape), digest.hexdigest(), size)
        p = Path(style).resolve()
        st = p.stat() if p.exists() else None
        return ("file", str(p), st.st_mtime_ns if st else 0, st.st_size if st else 0, size)

    def style_stats(self, style: ImageLike, size: int | None = 512,
                    recolor_to: torch.Tensor | None = None) -> Stats:
        """Channel mean/std of the style at every encoder level (cached unless recoloured)."""
        key = None if recolor_to is not None else self._style_key(style, size)
        with self._cache_lock:
            if key is not None and key in self._cache:
                self._cache.move_to_end(key)
                self._hits += 1
                return self._cache[key]
            self._misses += 1
        img = self._load(style, size)
        if recolor_to is not None:
            img = match_color_histogram(img, recolor_to.cpu())
        stats = self._encode_style(img)
        if key is not None:
            with self._cache_lock:
                self._cache[key] = stats
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return stats

    def _encode_style(self, img: torch.Tensor) -> Stats:
        """Channel mean/std of ``img``'s features at every level up to the decoded one."""
        with torch.inference_mode():
            feats = self.model.encoder(
                img.to(self.device, self.dtype).contiguous(memory_format=self.memory_format),
                upto=self.model.decode_level)
            return [tuple(t.float() for t in calc_mean_std(f.float())) for f in feats]

    def _strength(self, proximity: torch.Tensor, settings: StyleSettings) -> torch.Tensor:
        return strength_from_proximity(proximity, settings.offset, settings.contrast,
                                       alpha=settings.alpha, invert=settings.invert)

    def cache_info(self) -> dict[str, int]:
        """Style-statistics cache counters: ``hits``, ``misses``, ``size``, ``max_size``."""
        return {"hits": self._hits, "misses": self._misses, "size": len(self._cache),
                "max_size": self.cache_size}

    def check(self, settings: StyleSettings) -> None:
        """Validate ``settings`` against this stylizer's model (raises :class:`SettingsError`)."""
        settings.validate()
        self._levels(settings)
        if settings.learned_strength:
            self._strength_net(settings)

    def _levels(self, settings: StyleSettings) -> list[int]:
        names, top = self.level_names, self.decode_level
        if not settings.levels:
            return [top]
        try:
            levels = sorted({level_index(names, lv) for lv in settings.levels})
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
        if levels[-1] > top:
            raise SettingsError(
                f"level {names[levels[-1]]} is deeper than the level this model "
                f"decodes ({top + 1}, {names[top]}); use levels 1..{top + 1}")
        return levels

    @property
    def level_names(self) -> tuple[str, ...]:
        """Names of the encoder levels (1-based numbers in settings refer to these)."""
        return self.model.encoder.level_names

    @property
    def has_learned_strength(self) -> bool:
        """Whether the model carries a learned strength module (``--strength learned``)."""
        return getattr(self.model, "strength_net", None) is not None

    @property
    def model_name(self) -> str:
        """Name of the loaded model (and backend, where not PyTorch)."""
        return self.model.name

    @property
    def downsampling(self) -> int:
        """Input sides are padded to multiples of this (the decoded level's stride)."""
        return self.model.downsampling

    @property
    def decode_level(self) -> int:
        """0-based index of the level the decoder inverts (the deepest usable level)."""
        return self.model.decode_level

    def _proximity(self, content: torch.Tensor, depth, settings: StyleSettings) -> torch.Tensor:
        b, _, h, w = content.shape
        if not settings.depth_aware:
            return torch.zeros(b, 1, h, w)
        src = depth if depth is not None else self.depth
        if isinstance(src, torch.Tensor):
            p = src.float()
            p = p[None, None] if p.ndim == 2 else p[None] if p.ndim == 3 else p
            if p.ndim != 4 or p.shape[1] != 1:
                raise ValueError(f"proximity must be (B, 1, H, W), got {tuple(src.shape)}")
            if not torch.isfinite(p).all():
                raise ValueError("proximity tensor contains NaN or infinite values")
            return F.interpolate(p, size=(h, w), mode="bilinear", align_corners=False).clamp(0, 1)
        if isinstance(src, (str, os.PathLike)):
            src = DepthMapFile(src)
        return src(content.to(self.device)).float().cpu().clamp(0, 1)

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
    ) -> StylizeResult:
        """Stylize ``content`` with one or several ``styles``.

        Args:
            content: (B, 3, H, W) RGB in [0, 1] or an image path.
            styles: one style (tensor or path) or a list; several styles are interpolated with
                ``settings.style_weights``, or routed to regions by ``masks``.
            settings: :class:`StyleSettings` (defaults if omitted).
            depth: overrides the stylizer's depth source for this call: a source, a proximity
                tensor (1 = near), or a depth-map path (read as depth).
            masks: (1, K, H', W') soft masks, one channel per style (spatial control); resized
                to the content.
            strength: (B, 1, H', W') strength map in [0, 1] that replaces the one computed from
                depth and settings (e.g. a temporally smoothed map); depth is then not computed
                and ``proximity`` is returned as zeros.

        Returns:
            :class:`StylizeResult`.

        Raises:
            SettingsError, ValueError: invalid settings or inputs (checked before any work).
            ImageReadError, DepthMapError: unreadable inputs.
        """
        settings = settings or StyleSettings()
        settings.validate()
        style_list = list(styles) if isinstance(styles, (list, tuple)) else [styles]
        if not style_list:
            raise SettingsError("at least one style is required")
        weights = settings.style_weights
        if weights is not None and len(weights) != len(style_list):
            raise SettingsError(f"{len(weights)} style weights for {len(style_list)} styles")
        if masks is not None and (masks.ndim != 4 or masks.shape[1] != len(style_list)):
            raise SettingsError(f"masks must have one channel per style ({len(style_list)}), got "
                                f"shape {tuple(masks.shape)}")
        levels = self._levels(settings)
        if settings.learned_strength:  # fail before any work
            self._strength_net(settings)
            if strength is not None:
                raise SettingsError("learned strength makes its own maps from proximity; it "
                                    "cannot take a given strength map")
            if masks is not None:
                raise SettingsError("learned strength cannot be combined with style masks")

        content_img = self._load(content, settings.content_size)
        if settings.crop:
            h, w = content_img.shape[-2:]
            side = min(h, w)
            top, left = (h - side) // 2, (w - side) // 2
            content_img = content_img[..., top: top + side, left: left + side]
        if masks is not None:
            masks = F.interpolate(masks.float(), size=content_img.shape[-2:], mode="bilinear",
                                  align_corners=False)
        if strength is not None:
            if strength.ndim != 4 or strength.shape[1] != 1 or not torch.isfinite(strength).all():
                raise ValueError(f"strength must be a finite (B, 1, H, W) map, got shape "
                                 f"{tuple(strength.shape)}")
            strength = F.interpolate(strength.float().cpu(), size=content_img.shape[-2:],
                                     mode="bilinear", align_corners=False).clamp(0, 1)
            proximity = torch.zeros_like(strength)
        else:
            proximity = self._proximity(content_img, depth, settings)
            strength = self._strength(proximity, settings)
        recolor = content_img if settings.preserve_color == "histogram" else None
        stats_per_style = [self.style_stats(s, settings.style_size, recolor) for s in style_list]
        run_strength: StrengthMaps = strength
        if settings.learned_strength:
            run_strength = self._learned_maps(content_img, proximity, stats_per_style, weights,
                                              settings)
            levels = list(range(self.decode_level + 1))
            strength = run_strength[-1].mean(1, keepdim=True)  # the decoded level's, for display

        with torch.inference_mode():
            image = self._run(content_img, stats_per_style, run_strength, levels, weights, masks)
        if settings.preserve_color == "luminance":
            image = luminance_transfer(image, content_img)
        return StylizeResult(image=image, proximity=proximity, strength=strength,
                             content=content_img)

    def _strength_net(self, settings: StyleSettings):
        net = getattr(self.model, "strength_net", None) if self.model is not None else None
        if net is None:
            raise SettingsError(f"model {self.model_name} has no learned strength module; train "
                                "one with `depthstyle train --learn-strength`")
        if settings.levels:
            raise SettingsError("learned strength sets every level itself; drop --levels")
        return net

    @staticmethod
    def _mixed_stats(stats_per_style: list[Stats], weights: tuple[float, ...] | None) -> Stats:
        """One style's statistics, or several styles' interpolated level by level."""
        if len(stats_per_style) == 1:
            return stats_per_style[0]
        w = weights or [1.0] * len(stats_per_style)
        return [mix_style_stats([st[i] for st in stats_per_style], w)
                for i in range(len(stats_per_style[0]))]

    def _learned_maps(self, content: torch.Tensor, proximity: torch.Tensor,
                      stats_per_style: list[Stats], weights: tuple[float, ...] | None,
                      settings: StyleSettings) -> list[torch.Tensor]:
        """Per-level strength maps of the model's learned module (content stats at <= 256 px)."""
        net = self._strength_net(settings)
        content_stats = self._encode_style(resize_image(content, 256, upscale=False))
        style_stats = self._mixed_stats(stats_per_style, weights)
        with torch.inference_mode():
            maps = net(proximity.to(self.device), [tuple(t.to(self.device) for t in c)
                                                    for c in content_stats],
                       [tuple(t.to(self.device) for t in c) for c in style_stats],
                       offset=settings.offset, contrast=settings.contrast, alpha=settings.alpha,
                       invert=settings.invert)
        return [m.float().cpu() for m in maps]

    def _forward(self, x: torch.Tensor, s: StrengthMaps, mk: torch.Tensor | None,
                 stats_per_style: list[Stats], levels: list[int],
                 weights: tuple[float, ...] | None, stop: int,
                 content_stats: dict[int, tuple[torch.Tensor, torch.Tensor]] | None = None
                 ) -> torch.Tensor:
        """Run encoder stages 0..stop, restyling the features at each level in ``levels``."""
        for i, stage in enumerate(self.model.encoder.stages[: stop + 1]):
            x = stage(x)
            if i not in levels:
                continue
            level_stats = [st[i] for st in stats_per_style]
            cs = content_stats.get(i) if content_stats else None
            f = x.float()
            if mk is not None:
                target = masked_adain(f, level_stats, mk, content_stats=cs)
            else:
                mean, std = (level_stats[0] if len(level_stats) == 1 else
                             mix_style_stats(level_stats, weights or [1.0] * len(level_stats)))
                target = adain_from_stats(f, mean, std, content_stats=cs)
            w = resize_map(s[i] if isinstance(s, list) else s, f.shape[-2:])
            if w.shape[1] > 1:  # one map per channel group
                w = w.repeat_interleave(f.shape[1] // w.shape[1], dim=1)
            x = torch.lerp(f, target, w).to(self.dtype)
        return x

    def _pad(self, content, strength, masks):
        h, w = content.shape[-2:]
        m = self.downsampling
        ph, pw = (-h) % m, (-w) % m
        x = content.to(self.device, self.dtype)
        s = _each(strength, lambda t: t.to(self.device, torch.float32))
        mk = masks.to(self.device, torch.float32) if masks is not None else None
        if ph or pw:
            mode = "reflect" if (ph < h and pw < w) else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
            s = _each(s, lambda t: F.pad(t, (0, pw, 0, ph), mode="replicate"))
            mk = F.pad(mk, (0, pw, 0, ph), mode="replicate") if mk is not None else None
        return x.contiguous(memory_format=self.memory_format), s, mk

    def _decode(self, feats: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        out = self.model.decoder(feats).float().clamp(0, 1)
        if tuple(out.shape[-2:]) != tuple(size):
            out = F.interpolate(out, size=size, mode="bilinear", align_corners=False)
        return out

    def _run(self, content: torch.Tensor, stats_per_style: list[Stats], strength: StrengthMaps,
             levels: list[int], weights: tuple[float, ...] | None, masks: torch.Tensor | None
             ) -> torch.Tensor:
        """Encode with restyling at ``levels``, then decode.

        ``strength`` is one map for every level, or (learned strength) one map per level, each
        (B, 1 or groups, H, W).
        """
        h, w = content.shape[-2:]
        x, s, mk = self._pad(content, strength, masks)
        if self.tile_size and max(x.shape[-2:]) > self.tile_size:
            return self._run_tiled(x, s, mk, stats_per_style, levels, weights)[..., :h, :w].cpu()
        feats = self._forward(x, s, mk, stats_per_style, levels, weights, self.model.decode_level)
        return self._decode(feats, x.shape[-2:])[..., :h, :w].cpu()

    def _tiles(self, height: int, width: int):
        """Core boxes (y0, y1, x0, x1) and their input boxes with a context margin."""
        t, mg = self.tile_size, self.tile_margin
        for y0 in range(0, height, t):
            for x0 in range(0, width, t):
                y1, x1 = min(y0 + t, height), min(x0 + t, width)
                yield (y0, y1, x0, x1), (max(0, y0 - mg), min(height, y1 + mg),
                                         max(0, x0 - mg), min(width, x1 + mg))

    def _run_tiled(self, x, s, mk, stats_per_style, levels, weights) -> torch.Tensor:
        """Tile-by-tile stylization with whole-image content statistics (no seams from IN).

        One pass per stylized level measures that level's global content mean/std over the tile
        cores (given the already-measured shallower levels); the last pass decodes each tile with
        its context margin and keeps the core.
        """
        enc = self.model.encoder
        height, width = x.shape[-2:]
        content_stats: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

        def crop(t, box):
            return _each(t, lambda m: m[..., box[0]: box[1], box[2]: box[3]])

        for lv in levels:
            total = sq = None
            count = 0
            stride = enc.strides[lv]
            for core, inbox in self._tiles(height, width):
                f = self._forward(crop(x, inbox), crop(s, inbox), crop(mk, inbox),
                                  stats_per_style, [v for v in levels if v < lv], weights, lv,
                                  content_stats).double()
                f = f[..., (core[0] - inbox[0]) // stride: (core[1] - inbox[0]) // stride,
                      (core[2] - inbox[2]) // stride: (core[3] - inbox[2]) // stride]
                total = f.sum((2, 3)) if total is None else total + f.sum((2, 3))
                sq = (f * f).sum((2, 3)) if sq is None else sq + (f * f).sum((2, 3))
                count += f.shape[-2] * f.shape[-1]
            mean = total / count
            var = (sq / count - mean * mean).clamp_min(0)
            content_stats[lv] = (mean.float()[..., None, None],
                                 torch.sqrt(var + 1e-5).float()[..., None, None])
        out = torch.empty(x.shape[0], 3, height, width)
        for core, inbox in self._tiles(height, width):
            feats = self._forward(crop(x, inbox), crop(s, inbox), crop(mk, inbox),
                                  stats_per_style, levels, weights, self.model.decode_level,
                                  content_stats)
            y = self._decode(feats, (inbox[1] - inbox[0], inbox[3] - inbox[2]))
            out[..., core[0]: core[1], core[2]: core[3]] = y[
                ..., core[0] - inbox[0]: core[1] - inbox[0],
                core[2] - inbox[2]: core[3] - inbox[2]].cpu()
        return out


def _each(t, fn):
    """Apply ``fn`` to a tensor, to each tensor of a list (per-level maps), or pass ``None``."""
    if t is None:
        return None
    return [fn(m) for m in t] if isinstance(t, list) else fn(t)
