"""The PyTorch engine: runs a :class:`~depthstyle.models.StyleModel` on CPU, CUDA or MPS.

Rendering (docs/method.md):

1. The content is reflect-padded by a border of ``border`` pixels on every side (plus up to a
   multiple of the model's downsampling) and cropped back at the end, so the encoder's zero
   padding and the decoder's edges fall outside the picture (this removes the edge bands of
   model v1; see docs/results.md).
2. :func:`~depthstyle.ops.restyle_encode` runs the encoder with the restyle step at the selected
   levels; the decoder reads the restyled features.
3. The photo comes back where strength is low: by default :func:`~depthstyle.ops.photo_blend`
   (``lerp(out, photo, (1 - S) ** 3)``, no extra pass); with ``detail="residual"``,
   :func:`~depthstyle.ops.detail_residual` adds back, in proportion to ``1 - strength``, what
   the decoder loses when it reconstructs the photo (a second decoder pass, cached per photo).

Large images are processed in tiles with whole-image content statistics (bounded memory, no
seams from instance normalisation).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence

import torch

from depthstyle.engines.base import (
    RenderJob,
    Stats,
    StrengthMaps,
    border_pads,
    level_style_stats,
    pad_border,
)
from depthstyle.errors import SettingsError
from depthstyle.models import StyleModel
from depthstyle.ops import (
    calc_mean_std,
    detail_residual,
    photo_blend,
    restyle,
    restyle_encode,
    strength_at_level,
)
from depthstyle.runtime import tune_cpu_allocator

__all__ = ["TorchEngine", "select_device"]


def select_device(device: str | torch.device | None = "auto") -> torch.device:
    """``"auto"`` picks cuda, then mps, then cpu; otherwise the named device (checked).

    Raises:
        SettingsError: an unknown device name, or one this machine does not have.
    """
    if device in (None, "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise SettingsError(f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or mps") \
            from None
    if dev.type not in ("cpu", "cuda", "mps"):
        raise SettingsError(f"unsupported device {device!r}; use auto, cpu, cuda, cuda:N or mps")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SettingsError("--device cuda requested but CUDA is not available")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None)
                                  and torch.backends.mps.is_available()):
        raise SettingsError("--device mps requested but MPS is not available")
    return dev


class TorchEngine:
    """Encode style statistics and render content with a PyTorch :class:`StyleModel`.

    Args:
        model: the loaded model (moved to ``device``; evaluation mode).
        device: a :class:`torch.device` (see :func:`select_device`).
        half: float16 weights and activations (CUDA only; ignored elsewhere).
        channels_last: NHWC memory layout (about 1.9x faster on CPU, same results).
        tile_size: contents whose longer padded side exceeds this are rendered in tiles;
            ``None`` = never tile.
        tile_margin: context around each tile, in pixels.
        border: reflect-padded border around the picture, in pixels (rounded up to a
            multiple of the downsampling); 0 = none.
    """

    supports_masks = True

    def __init__(self, model: StyleModel, device: torch.device, *, half: bool = False,
                 channels_last: bool = True, tile_size: int | None = 2048,
                 tile_margin: int = 64, border: int = 16) -> None:
        self.model = model
        self.device = device
        if device.type == "cpu":
            tune_cpu_allocator()  # reuse large freed buffers: see depthstyle.runtime
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model.to(device).eval().to(memory_format=self.memory_format)
        self.half = bool(half) and device.type == "cuda"
        self.dtype = torch.float16 if self.half else torch.float32
        self._recon: OrderedDict[tuple, torch.Tensor] = OrderedDict()
        self._recon_lock = threading.Lock()
        self.recon_cache_size = 4
        if self.half:
            self.model.half()
            if self.model.strength_net is not None:
                self.model.strength_net.float()  # tiny; its inputs are float32 statistics
        m = self.downsampling
        if tile_size is not None and (tile_size < 4 * m or tile_margin < 0):
            raise SettingsError(f"tile size must be at least {4 * m} px and margin >= 0")
        if border < 0:
            raise SettingsError(f"border must be >= 0 pixels, got {border}")
        self.tile_size = None if tile_size is None else tile_size // m * m
        self.tile_margin = -(-tile_margin // m) * m
        self.border = -(-border // m) * m

    # -- what the pipeline reads --------------------------------------------------------------
    @property
    def name(self) -> str:
        """The model's name."""
        return self.model.name

    @property
    def encoder_name(self) -> str:
        """Short name of the encoder (``lite0``, ``vgg19``...)."""
        return self.model.encoder.name

    @property
    def level_names(self) -> tuple[str, ...]:
        """Names of the encoder's levels (those deeper than the decoded one are refused)."""
        return self.model.encoder.level_names

    @property
    def decode_level(self) -> int:
        """0-based index of the deepest level the decoder reads."""
        return self.model.decode_level

    @property
    def downsampling(self) -> int:
        """Stride of the decoded level: padded sides are multiples of it."""
        return self.model.downsampling

    @property
    def default_levels(self) -> tuple[int, ...]:
        """Levels restyled when the settings name none (see ``StyleModel.default_levels``)."""
        return self.model.default_levels

    @property
    def has_learned_strength(self) -> bool:
        """Whether the model carries a learned strength module."""
        return self.model.strength_net is not None

    # -- style --------------------------------------------------------------------------------
    def _to_device(self, img: torch.Tensor) -> torch.Tensor:
        return img.to(self.device, self.dtype).contiguous(memory_format=self.memory_format)

    def style_stats(self, image: torch.Tensor) -> Stats:
        """Channel mean/std (float32, on the engine's device) at levels 0..decode_level."""
        with torch.inference_mode():
            feats = self.model.encoder(self._to_device(image), upto=self.decode_level)
            return [tuple(t.float() for t in calc_mean_std(f.float())) for f in feats]

    def learned_strength(self, proximity: torch.Tensor, content: torch.Tensor, style: Stats,
                         *, offset: float, contrast: float, alpha: float, invert: bool
                         ) -> list[torch.Tensor]:
        """Per-level maps of the learned strength module (content statistics at <= 256 px)."""
        from depthstyle.io import resize_image

        net = self.model.strength_net
        if net is None:
            raise SettingsError(f"model {self.name} has no learned strength module; train one "
                                "with `depthstyle train --learn-strength`")
        content_stats = self.style_stats(resize_image(content, 256, upscale=False))
        with torch.inference_mode():
            maps = net(proximity.to(self.device), content_stats,
                       [tuple(t.to(self.device) for t in c) for c in style],
                       offset=offset, contrast=contrast, alpha=alpha, invert=invert)
        return [m.float().cpu() for m in maps]

    # -- render -------------------------------------------------------------------------------
    def _pad(self, job: RenderJob):
        """Content, strength and masks on the device, padded by the border (+ to a multiple)."""
        h, w = job.content.shape[-2:]
        b = self.border
        pads = border_pads(h, w, b, self.downsampling)

        def pad(t: torch.Tensor, dtype: torch.dtype, image: bool = False) -> torch.Tensor:
            return pad_border(t.to(self.device, dtype), pads, image=image)

        x = pad(job.content, self.dtype, image=True)
        s = job.strength
        s = [pad(t, torch.float32) for t in s] if isinstance(s, list) else pad(s, torch.float32)
        mk = pad(job.masks.float(), torch.float32) if job.masks is not None else None
        return x.contiguous(memory_format=self.memory_format), s, mk, (b, h, w)

    def _level_stats(self, job: RenderJob, masks: torch.Tensor | None,
                     size: Sequence[int]) -> Stats:
        strides = self.model.encoder.strides
        return [tuple(t.to(self.device) for t in level_style_stats(
                    job.styles, job.weights, masks, i,
                    (size[0] // strides[i], size[1] // strides[i])))
                for i in range(self.decode_level + 1)]

    def _forward(self, x: torch.Tensor, s: StrengthMaps | float, stats: Stats,
                 levels: Sequence[int], stop: int, content_stats=None) -> list[torch.Tensor]:
        enc = self.model.encoder
        return restyle_encode(enc.stages[: stop + 1], x, enc.strides, stats, s, levels,
                              content_stats)

    def _decode(self, x: torch.Tensor, s: StrengthMaps, stats: Stats, job: RenderJob,
                content_stats=None) -> torch.Tensor:
        top = self.decode_level
        full = s[-1].mean(1, keepdim=True) if isinstance(s, list) else s
        rec, plain = None, None
        if job.detail == "residual" and bool((full < 1).any()):
            key, rec = self._cached_reconstruction(x)
            if rec is None:
                plain = self._forward(x, 0.0, stats, (), top)
                rec = self._store_reconstruction(key, self.model.decode(plain, 0.0).float())
        if plain is not None and set(job.levels) == {top}:
            # only the decoded tap is restyled: the photo's encoding serves both passes
            st = s[top] if isinstance(s, list) else s
            mean, std = stats[top]
            cs = content_stats.get(top) if content_stats else None
            feats = [*plain[:-1], restyle(plain[-1], mean, std,
                                          strength_at_level(st, self.model.encoder.strides[top]),
                                          cs)]
        else:
            feats = self._forward(x, s, stats, job.levels, top, content_stats)
        out = self.model.decode(feats, full).float()
        if rec is not None:
            out = detail_residual(out, x.float(), rec, full)
        elif job.detail == "blend":
            out = photo_blend(out, x.float(), full)
        return out.clamp(0, 1)

    def _cached_reconstruction(self, x: torch.Tensor) -> tuple[tuple | None, torch.Tensor | None]:
        """The cache key of ``x`` and its cached reconstruction, if any.

        On the CPU the decoder's output for the unrestyled content (float32) of the last few
        photos is kept by a digest of the padded content, so the same photo with another style
        or other settings (batches of styles, the web page's sliders, evaluation sweeps) costs
        one decoder pass instead of two.
        """
        if x.device.type != "cpu":
            return None, None
        digest = hashlib.sha1(x.detach().contiguous().numpy().tobytes()).hexdigest()
        key = (digest, tuple(x.shape), str(x.dtype))
        with self._recon_lock:
            if key in self._recon:
                self._recon.move_to_end(key)
                return key, self._recon[key]
        return key, None

    def _store_reconstruction(self, key: tuple | None, rec: torch.Tensor) -> torch.Tensor:
        if key is not None and self.recon_cache_size > 0:
            with self._recon_lock:
                self._recon[key] = rec
                while len(self._recon) > self.recon_cache_size:
                    self._recon.popitem(last=False)
        return rec

    def render(self, job: RenderJob) -> torch.Tensor:
        """Restyle and decode ``job.content``: (B, 3, H, W) in [0, 1] on the CPU."""
        x, s, mk, (b, h, w) = self._pad(job)
        with torch.inference_mode():
            if self.tile_size and max(x.shape[-2:]) > self.tile_size:
                out = self._render_tiled(x, s, mk, job)
            else:
                out = self._decode(x, s, self._level_stats(job, mk, x.shape[-2:]), job)
        return out[..., b: b + h, b: b + w].cpu()

    def _tiles(self, height: int, width: int):
        """Core boxes (y0, y1, x0, x1) and their input boxes with a context margin."""
        t, mg = self.tile_size, self.tile_margin
        for y0 in range(0, height, t):
            for x0 in range(0, width, t):
                y1, x1 = min(y0 + t, height), min(x0 + t, width)
                yield (y0, y1, x0, x1), (max(0, y0 - mg), min(height, y1 + mg),
                                         max(0, x0 - mg), min(width, x1 + mg))

    def _render_tiled(self, x, s, mk, job: RenderJob) -> torch.Tensor:
        """Tile-by-tile rendering with whole-image content statistics (no seams from IN).

        One pass per restyled level measures that level's global content mean/std over the
        tile cores (given the already-measured shallower levels); the last pass decodes each
        tile with its context margin and keeps the core.
        """
        strides = self.model.encoder.strides
        height, width = x.shape[-2:]
        content_stats: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

        def crop(t, box):
            if t is None:
                return None
            if isinstance(t, list):
                return [m[..., box[0]: box[1], box[2]: box[3]] for m in t]
            return t[..., box[0]: box[1], box[2]: box[3]]

        def tile_stats(inbox):
            return self._level_stats(job, crop(mk, inbox), (inbox[1] - inbox[0],
                                                            inbox[3] - inbox[2]))

        for lv in sorted(job.levels):
            total = sq = None
            count = 0
            for core, inbox in self._tiles(height, width):
                f = self._forward(crop(x, inbox), crop(s, inbox), tile_stats(inbox),
                                  [v for v in job.levels if v < lv], lv, content_stats)[-1]
                st = strides[lv]
                f = f.double()[..., (core[0] - inbox[0]) // st: (core[1] - inbox[0]) // st,
                               (core[2] - inbox[2]) // st: (core[3] - inbox[2]) // st]
                total = f.sum((2, 3)) if total is None else total + f.sum((2, 3))
                sq = (f * f).sum((2, 3)) if sq is None else sq + (f * f).sum((2, 3))
                count += f.shape[-2] * f.shape[-1]
            mean = total / count
            var = (sq / count - mean * mean).clamp_min(0)
            content_stats[lv] = (mean.float()[..., None, None],
                                 torch.sqrt(var + 1e-5).float()[..., None, None])
        out = torch.empty(x.shape[0], 3, height, width)
        for core, inbox in self._tiles(height, width):
            y = self._decode(crop(x, inbox), crop(s, inbox), tile_stats(inbox), job,
                             content_stats)
            out[..., core[0]: core[1], core[2]: core[3]] = y[
                ..., core[0] - inbox[0]: core[1] - inbox[0],
                core[2] - inbox[2]: core[3] - inbox[2]].cpu()
        return out
