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

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from depthstyle.checks import check_call, check_learned, select_levels
from depthstyle.color import luminance_transfer
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
from depthstyle.inputs import (
    ImageLike,
    as_image,
    center_square,
    fit_masks,
    given_strength,
    proximity_tensor,
)
from depthstyle.io import DEFAULT_MAX_PIXELS
from depthstyle.models import StyleModel, load_model
from depthstyle.settings import ColorMode, StyleSettings
from depthstyle.strength import strength_from_proximity
from depthstyle.style_cache import StyleCache, StyleEntry
from depthstyle.texture import match_texture_styles

__all__ = ["StyleSettings", "StylizeResult", "Stylizer", "select_device", "ColorMode",
           "Stats", "StrengthMaps"]

log = logging.getLogger(__name__)


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
        self.styles = StyleCache(self._load, lambda img: self.engine.style_stats(img), cache_size)

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

    @property
    def cache_size(self) -> int:
        """How many styles' statistics the style cache keeps."""
        return self.styles.size

    # -- inputs -------------------------------------------------------------------------------
    def _load(self, img: ImageLike, size: int | None) -> torch.Tensor:
        return as_image(img, size, max_pixels=self.max_pixels)

    def style_stats(self, style: ImageLike, size: int | None = 512,
                    recolor_to: torch.Tensor | None = None) -> Stats:
        """Channel mean/std of the style at every level (cached unless recoloured)."""
        return self._style_entry(style, size, recolor_to, texture=False).stats

    def _style_entry(self, style: ImageLike, size: int | None, recolor_to: torch.Tensor | None,
                     *, texture: bool) -> StyleEntry:
        return self.styles.get(style, size, recolor_to, texture=texture)

    def cache_info(self) -> dict[str, int]:
        """Style-statistics cache counters: ``hits``, ``misses``, ``size``, ``max_size``."""
        return self.styles.info()

    # -- settings -----------------------------------------------------------------------------
    def check(self, settings: StyleSettings) -> None:
        """Validate ``settings`` against this stylizer's model (raises :class:`SettingsError`)."""
        settings.validate()
        self._levels(settings)
        if settings.learned_strength:
            self._check_learned(settings)

    def _levels(self, settings: StyleSettings) -> list[int]:
        return select_levels(settings, self.engine)

    def _check_learned(self, settings: StyleSettings) -> None:
        check_learned(settings, self.engine)

    # -- the steps ----------------------------------------------------------------------------
    def load_style(self, style: ImageLike, settings: StyleSettings) -> torch.Tensor:
        """A style image as the model sees it: (1, 3, H, W), resized to ``style_size``."""
        return self._load(style, settings.style_size)

    def load_content(self, content: ImageLike, settings: StyleSettings) -> torch.Tensor:
        """The content as the model sees it: resized to ``content_size``, cropped if asked."""
        img = self._load(content, settings.content_size)
        return center_square(img) if settings.crop else img

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
            return proximity_tensor(src, (h, w))
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
        style_list = check_call(settings, self.engine, styles, masks, strength)
        levels = self._levels(settings)
        content_img = self.load_content(content, settings)
        size = content_img.shape[-2:]
        if masks is not None:
            masks = fit_masks(masks, size)
        recolor = content_img if settings.preserve_color == "histogram" else None
        entries = [self._style_entry(s, settings.style_size, recolor,
                                     texture=settings.texture_match > 0) for s in style_list]
        stats = [e.stats for e in entries]
        if strength is not None:
            run_strength = given_strength(strength, size)
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
            image = match_texture_styles(image, [e.texture for e in entries], shown,
                                         settings.texture_match,
                                         weights=settings.style_weights, masks=masks)
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


def _mixed(stats_per_style: Sequence[Stats], weights: Sequence[float] | None) -> Stats:
    """One style's statistics, or several styles' interpolated level by level."""
    return [level_style_stats(stats_per_style, weights, None, i)
            for i in range(len(stats_per_style[0]))]
