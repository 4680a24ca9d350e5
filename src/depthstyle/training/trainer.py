"""Decoder training (``depthstyle train``), resumable and seeded.

The AdaIN recipe (Huang & Belongie 2017, section 6): a frozen encoder, AdaIN at the deepest tap,
a decoder trained with content loss on the AdaIN target plus ``style_weight`` times the mean/std
style loss over all taps, Adam with ``lr / (1 + lr_decay * step)``. Additions:

* ``mix_fraction`` of each batch uses a random global strength in [0, 1) (target
  ``lerp(f_c, AdaIN(f_c, f_s), a)``), so the decoder also inverts the partly stylized features
  that depth-aware strength and alpha produce; with ``mix_style > 0`` these samples also get
  ``mix_style`` times the style loss against interpolated statistics
  ``lerp(stats(photo), stats(style), a)`` at every loss tap, so an output at strength ``a`` is
  told how much texture to carry (without it, a skip decoder learns to copy the photo at any
  ``a < 1``: the intermediate strengths of the first v2 skip run broke this way);
* an optional depth-preservation term (Liu et al. 2017) with any differentiable depth model;
* for the skip decoder (model v2), the deep tap is restyled by the same
  :func:`~depthstyle.ops.restyle_encode` the pipeline uses, the photo's shallow taps reach the
  decoder through skips gated by ``1 - a``, and a pixel term
  ``pixel_weight * mean((1 - a)^2 * |out - content|)`` on the partly stylized share teaches the
  decoder to give the photo back as ``a`` falls to 0 (one sample per batch has a = 0); the
  square keeps the pull weak where the interpolated style target above asks for texture.

Checkpoints hold decoder, optimiser and step; batches depend only on ``(seed, step)``, so a
resumed run continues exactly as an uninterrupted one.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import math
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import torch

from depthstyle.errors import DepthStyleError, SettingsError
from depthstyle.models import DEFAULT_DECODE_LEVEL, build_decoder, build_encoder, save_decoder
from depthstyle.models.decoder import decode
from depthstyle.ops import calc_mean_std, restyle_encode
from depthstyle.training.data import ImageFolder, read_split
from depthstyle.training.losses import (
    content_loss,
    depth_loss,
    gram_loss,
    patch_swd_loss,
    sliced_wasserstein_loss,
    stats_loss,
    style_loss,
)

__all__ = ["RunConfig", "TrainConfig", "Trainer", "train"]

log = logging.getLogger(__name__)
CHECKPOINT = "checkpoint.pt"
# loss terms in log.csv; the columns, in file order (older logs lack the last ones)
LOG_TERMS = ("total", "content", "style", "depth", "pixel", "gram", "distill", "swd",
             "patch_swd")
LOG_COLUMNS = ("step", "total", "content", "style", "depth", "lr", "seconds", "pixel", "gram",
               "distill", "swd", "patch_swd")


def _log_columns(path: Path) -> tuple[str, ...]:
    """The columns of an existing ``log.csv`` (a resumed run keeps its header), else all."""
    if path.exists():
        with open(path, newline="") as fh:
            header = next(csv.reader(fh), None)
        if header:
            return tuple(header)
    return LOG_COLUMNS


@dataclass(frozen=True)
class RunConfig:
    """What every training run has: data, schedule, loss weights, logging, device."""

    content_dir: str
    style_dir: str
    out_dir: str
    size: int = 256
    batch_size: int = 8
    steps: int = 10_000
    lr: float = 1e-4
    lr_decay: float = 5e-5
    style_weight: float = 10.0
    depth_weight: float = 0.0
    depth_model: str | None = None
    seed: int = 0
    checkpoint_every: int = 250
    sample_every: int = 500
    log_every: int = 10
    max_minutes: float | None = None
    device: str = "cpu"
    holdout: str | None = None


@dataclass(frozen=True)
class TrainConfig(RunConfig):
    """Settings of a decoder training run (all stored in the checkpoint)."""

    encoder: str = "lite0"
    encoder_seed: int = 0
    widths: tuple[int, ...] | None = None
    decode_level: int | None = None
    mix_fraction: float = 0.25
    amp: bool = True
    decoder: str = "compact"
    skip_width: int = 32
    pixel_weight: float = 0.0
    mix_style: float = 0.0
    gram_weight: float = 0.0
    swd_weight: float = 0.0
    patch_swd_weight: float = 0.0
    content_weight: float = 1.0
    distill_from: str | None = None
    distill_weight: float = 0.0
    init_from: str | None = None

    def validate(self) -> None:
        """Raise :class:`SettingsError` for out-of-range values."""
        checks = [
            (self.size >= 32 and self.size % 16 == 0, f"size must be a multiple of 16 >= 32, "
                                                      f"got {self.size}"),
            (self.batch_size >= 1, "batch size must be >= 1"),
            (self.steps >= 1, "steps must be >= 1"),
            (self.lr > 0 and self.lr_decay >= 0, "lr must be > 0 and lr decay >= 0"),
            (self.style_weight >= 0 and self.depth_weight >= 0 and self.pixel_weight >= 0
             and self.mix_style >= 0 and self.gram_weight >= 0 and self.content_weight >= 0
             and self.swd_weight >= 0 and self.patch_swd_weight >= 0
             and self.distill_weight >= 0,
             "loss weights must be >= 0"),
            (self.decoder in ("compact", "skip"), f"decoder must be 'compact' or 'skip', got "
                                                  f"{self.decoder!r}"),
            (self.skip_width >= 1, "skip width must be >= 1"),
            (0 <= self.mix_fraction < 1, "mix fraction must be in [0, 1)"),
            (self.depth_weight == 0 or self.depth_model, "--depth-weight needs --depth-model"),
            (self.distill_weight == 0 or self.distill_from, "--distill-weight needs "
                                                            "--distill-from"),
            (not self.distill_from or self.distill_weight > 0, "--distill-from needs "
                                                               "--distill-weight > 0"),
        ]
        for ok, msg in checks:
            if not ok:
                raise SettingsError(msg)


class Trainer:
    """Holds the models, optimiser and data of one run; :meth:`run` trains to ``steps``."""

    def __init__(self, config: TrainConfig,
                 depth_fn: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        self._setup_run(config, depth_fn)
        self.encoder = build_encoder(config.encoder, seed=config.encoder_seed).to(self.device)
        self.widths = tuple(config.widths or ()) or None
        self.level = (DEFAULT_DECODE_LEVEL[self.encoder.name] if config.decode_level is None
                      else self.encoder.level_index(config.decode_level + 1))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)  # seeded decoder initialisation
            self.decoder = build_decoder(self.encoder, self.widths, self.level, config.decoder,
                                         config.skip_width).to(self.device)
        if config.init_from:
            _warm_start(self.decoder, config.init_from)
        self.widths = self.widths or tuple(getattr(self.decoder, "widths", ())) \
            or _widths_of(self.decoder)
        self.restyle_levels = (self.level,)  # skip inputs are the photo's, gated by 1 - a
        self.teacher = _teacher(config, self.encoder, self.level, self.device)
        self.optimizer = torch.optim.Adam(self.decoder.parameters(), lr=config.lr)

    def _setup_run(self, config: RunConfig,
                   depth_fn: Callable[[torch.Tensor], torch.Tensor] | None) -> None:
        """What every run needs: checked config, device, data, step 0, the depth function."""
        config.validate()
        self.config = config
        self.device = torch.device(config.device)
        self.out = Path(config.out_dir)
        split = read_split(config.holdout) if config.holdout else {"content": [], "style": []}
        self.content = ImageFolder(config.content_dir, config.size, exclude=split["content"])
        self.style = ImageFolder(config.style_dir, config.size, exclude=split["style"])
        if config.holdout:
            log.info("held out %d content and %d style images (%s)", self.content.excluded,
                     self.style.excluded, config.holdout)
        self.step = 0
        self.depth_fn = depth_fn
        if config.depth_weight > 0 and depth_fn is None:
            from depthstyle.depth import differentiable_depth_model

            self.depth_fn = differentiable_depth_model(config.depth_model, device=self.device)

    @property
    def trainable(self) -> torch.nn.Module:
        """The module this trainer optimises."""
        return self.decoder

    # -- checkpoints --------------------------------------------------------------------------
    def save_checkpoint(self) -> Path:
        """Write decoder, optimiser and step atomically to ``out_dir/checkpoint.pt``."""
        from depthstyle.io import atomic_output

        self.out.mkdir(parents=True, exist_ok=True)
        state = {
            "step": self.step,
            "decoder": self.decoder.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "config": json.dumps(dataclasses.asdict(self.config)),
            "widths": list(self.widths),
            "decode_level": self.level,
        }
        path = self.out / CHECKPOINT
        with atomic_output(path, overwrite=True) as tmp:
            torch.save(state, tmp)
        return path

    def load_checkpoint(self, path: Path) -> None:
        """Restore decoder, optimiser and step (weights-only load)."""
        state = torch.load(path, map_location=self.device, weights_only=True)
        old = json.loads(state["config"])
        old.setdefault("decoder", "compact")  # checkpoints from before decoder kinds
        for key in ("encoder", "encoder_seed", "decoder"):
            if old.get(key) != getattr(self.config, key):
                raise SettingsError(f"{path}: checkpoint was trained with {key}={old.get(key)!r}, "
                                    f"not {getattr(self.config, key)!r}")
        if int(state["decode_level"]) != self.level:
            raise SettingsError(f"{path}: checkpoint decodes level {state['decode_level']}, "
                                f"not {self.level}")
        if tuple(state["widths"]) != tuple(self.widths):
            raise SettingsError(f"{path}: checkpoint decoder widths {state['widths']} differ from "
                                f"{list(self.widths)}")
        self.decoder.load_state_dict(state["decoder"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])

    # -- one step -----------------------------------------------------------------------------
    def _lr(self) -> float:
        return self.config.lr / (1.0 + self.config.lr_decay * self.step)

    def batches(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The (content, style) batch of ``step`` on the CPU: a pure function of (seed, step)."""
        gen = torch.Generator().manual_seed(self.config.seed * 1_000_003 + step)
        n = self.config.batch_size
        return self.content.batch(n, gen), self.style.batch(n, gen)

    def _batch_stream(self, pool: ThreadPoolExecutor | None, ahead: int = 16):
        """Yield the batches of ``self.step`` onwards.

        With a pool, the next ``ahead`` are prepared in worker threads (the same batches, since
        each depends only on its step).
        """
        pending: dict[int, Future] = {}
        while True:
            step = self.step
            if pool is None:
                yield self.batches(step)
                continue
            for k in range(step, step + ahead):
                if k not in pending:
                    pending[k] = pool.submit(self.batches, k)
            yield pending.pop(step).result()

    def losses(self, content: torch.Tensor, style: torch.Tensor, step: int
               ) -> dict[str, torch.Tensor]:
        """Forward pass and losses of one batch.

        The first ``n - n_mix`` samples are fully stylized (content + style loss); the rest get
        a random strength ``a`` in [0, 1) (content loss, plus the pixel term), the first of them
        ``a = 0``: a plain reconstruction.
        """
        cfg = self.config
        n = content.shape[0]
        n_mix = min(n - 1, math.floor(n * cfg.mix_fraction)) if n > 1 else 0
        full = n - n_mix
        lv = self.level
        with torch.no_grad():
            f_s = self.encoder(style)
            a = torch.ones(n, 1, 1, 1, device=content.device)
            if n_mix:
                gen = torch.Generator().manual_seed(cfg.seed * 7_919 + step)
                a[full:] = torch.rand(n_mix, 1, 1, 1, generator=gen).to(a)
                if cfg.pixel_weight > 0:
                    a[full] = 0.0
            stats = [calc_mean_std(f) for f in f_s[: lv + 1]]
            mix_targets = None
            if n_mix and cfg.mix_style > 0:
                am = a[full:]
                mix_targets = [(cm + am * (sm[full:] - cm), cs + am * (ss[full:] - cs))
                               for (cm, cs), (sm, ss) in zip(
                                   (calc_mean_std(f) for f in self.encoder(content[full:])),
                                   (calc_mean_std(f) for f in f_s), strict=True)]
            strength = a.expand(n, 1, *content.shape[-2:])
            feats = restyle_encode(self.encoder.stages[: lv + 1], content,
                                   self.encoder.strides, stats, strength, self.restyle_levels)
        use_amp = cfg.amp and self.device.type == "cuda"
        # the loss network runs on the output only when a term reads its features
        perceptual = max(cfg.content_weight, cfg.style_weight, cfg.gram_weight,
                         cfg.swd_weight, cfg.mix_style) > 0
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=use_amp):
            out = decode(self.decoder, feats, strength)
            f_o = self.encoder(out.float() if use_amp else out) if perceptual else None
        out = out.float()
        terms: dict[str, torch.Tensor] = {}
        total = out.new_zeros(())
        if perceptual:
            f_o = [f.float() for f in f_o]
            terms["content"] = content_loss(f_o[lv], feats[lv])
            terms["style"] = style_loss([f[:full] for f in f_o], [f[:full] for f in f_s])
            total = cfg.content_weight * terms["content"] + cfg.style_weight * terms["style"]
        if self.teacher is not None:
            with torch.no_grad():
                target = decode(self.teacher, feats, strength).float()
            terms["distill"] = (out - target).abs().mean()
            total = total + cfg.distill_weight * terms["distill"]
        if cfg.gram_weight > 0:
            terms["gram"] = gram_loss([f[:full] for f in f_o], [f[:full] for f in f_s])
            total = total + cfg.gram_weight * terms["gram"]
        if cfg.swd_weight > 0:
            # the step's own directions: a resumed run draws the same ones
            directions = torch.Generator().manual_seed(cfg.seed * 104_729 + step)
            terms["swd"] = sliced_wasserstein_loss([f[:full] for f in f_o],
                                                   [f[:full] for f in f_s],
                                                   generator=directions)
            total = total + cfg.swd_weight * terms["swd"]
        if cfg.patch_swd_weight > 0:
            # the painting's own pixel patches; the step's own directions, like the term above
            directions = torch.Generator().manual_seed(cfg.seed * 130_363 + step)
            terms["patch_swd"] = patch_swd_loss(out[:full], style[:full], projections=32,
                                                points=4096, generator=directions)
            total = total + cfg.patch_swd_weight * terms["patch_swd"]
        if mix_targets is not None:
            terms["mix_style"] = stats_loss([f[full:] for f in f_o], mix_targets)
            total = total + cfg.style_weight * cfg.mix_style * terms["mix_style"]
        if cfg.pixel_weight > 0 and n_mix:
            keep = (1 - a[full:]) ** 2
            terms["pixel"] = (keep * (out[full:] - content[full:]).abs()).mean()
            total = total + cfg.pixel_weight * terms["pixel"]
        if cfg.depth_weight > 0 and self.depth_fn is not None:
            terms["depth"] = depth_loss(self.depth_fn, out.clamp(0, 1), content)
            total = total + cfg.depth_weight * terms["depth"]
        terms["total"] = total
        return terms

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor] | None = None
                   ) -> dict[str, float]:
        """One optimisation step on ``batch`` (default: :meth:`batches` of this step)."""
        for group in self.optimizer.param_groups:
            group["lr"] = self._lr()
        content, style = (t.to(self.device, non_blocking=True)
                          for t in (batch or self.batches(self.step)))
        self.trainable.train()
        terms = self.losses(content, style, self.step)
        self.optimizer.zero_grad(set_to_none=True)
        terms["total"].backward()
        self.optimizer.step()
        self.step += 1
        return {k: float(v.detach()) for k, v in terms.items()}

    # -- samples ------------------------------------------------------------------------------
    @torch.no_grad()
    def save_samples(self, n: int = 4) -> Path:
        """Grid of fixed content/style pairs and their outputs: rows content, style, output."""
        from depthstyle.io import save_image

        gen = torch.Generator().manual_seed(12_345)
        c = self.content.batch(n, gen).to(self.device)
        s = self.style.batch(n, gen).to(self.device)
        self.decoder.eval()
        lv = self.level
        stats = [calc_mean_std(f) for f in self.encoder(s, upto=lv)]
        feats = restyle_encode(self.encoder.stages[: lv + 1], c, self.encoder.strides, stats,
                               1.0, self.restyle_levels)
        out = decode(self.decoder, feats, 1.0).clamp(0, 1)
        rows = [torch.cat(list(x), dim=2) for x in (c, s, out)]
        grid = torch.cat(rows, dim=1).unsqueeze(0)
        path = self.out / "samples" / f"step_{self.step:07d}.png"
        save_image(grid.cpu(), path, overwrite=True)
        return path

    # -- loop ---------------------------------------------------------------------------------
    def run(self, *, progress: bool = True) -> Path:
        """Train until ``steps`` (resuming from ``out_dir/checkpoint.pt`` if present).

        Returns:
            Path of the exported decoder (``out_dir/decoder.safetensors``).
        """
        from tqdm.auto import tqdm

        cfg = self.config
        ckpt = self.out / CHECKPOINT
        if ckpt.exists():
            self.load_checkpoint(ckpt)
            log.info("resumed from %s at step %d", ckpt, self.step)
        self.out.mkdir(parents=True, exist_ok=True)
        log_path = self.out / "log.csv"
        new_log = not log_path.exists()
        started = time.monotonic()
        # on an accelerator the CPU's crops are the bottleneck: prepare them in threads
        pool = (ThreadPoolExecutor(max_workers=max(1, min(8, (os.cpu_count() or 2) - 1)))
                if self.device.type == "cuda" else None)
        stream = self._batch_stream(pool)
        columns = _log_columns(log_path)
        with open(log_path, "a", newline="") as fh, tqdm(
            total=cfg.steps, initial=self.step, disable=not progress, desc="train", unit="step"
        ) as bar:
            writer = csv.DictWriter(fh, columns, extrasaction="ignore")
            if new_log:
                writer.writeheader()
            try:
                while self.step < cfg.steps:
                    t0 = time.monotonic()
                    vals = self.train_step(next(stream))
                    if not math.isfinite(vals["total"]):
                        raise DepthStyleError(f"loss became {vals['total']} at step {self.step}; "
                                              "lower --lr or --style-weight")
                    bar.update(1)
                    bar.set_postfix(loss=f"{vals['total']:.3f}", refresh=False)
                    if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                        row = {k: f"{vals.get(k, 0.0):.5f}" for k in LOG_TERMS}
                        writer.writerow({**row, "step": self.step, "lr": f"{self._lr():.3e}",
                                         "seconds": f"{time.monotonic() - t0:.3f}"})
                        fh.flush()
                    if self.step % cfg.checkpoint_every == 0:
                        self.save_checkpoint()
                    if cfg.sample_every and self.step % cfg.sample_every == 0:
                        self.save_samples()
                    if cfg.max_minutes and time.monotonic() - started > cfg.max_minutes * 60:
                        log.info("time limit reached at step %d", self.step)
                        break
            finally:
                if pool is not None:
                    pool.shutdown(wait=False, cancel_futures=True)
                self.save_checkpoint()
        return self.export()

    def export(self, path: Path | None = None) -> Path:
        """Write the decoder as safetensors with the metadata ``load_model`` needs."""
        path = path or self.out / "decoder.safetensors"
        return save_decoder(self.decoder, path, encoder=self.encoder, widths=self.widths,
                            decode_level=self.level, seed=self.config.encoder_seed,
                            kind=self.config.decoder, skip_width=self.config.skip_width,
                            extra={"steps": str(self.step), "size": str(self.config.size),
                                   "batch_size": str(self.config.batch_size),
                                   "style_weight": str(self.config.style_weight)})


def _warm_start(decoder: torch.nn.Module, source: str) -> None:
    """Start ``decoder`` from a trained model's decoder (a registry name or decoder file).

    * A skip decoder from a skip decoder: copied when the shapes match; when the new one is
      narrower, from the source's most used channels
      (:func:`~depthstyle.models.decoder.narrow_skip_decoder`), the start of a distilled
      decoder.
    * Otherwise tensors are matched in order: a v1 compact decoder's layers map one to one onto
      a skip decoder's trunk (1x1 head, two 3x3 convs per scale, RGB conv). Where the new layer
      has more input channels (the skip inputs, concatenated after the trunk's), the extra
      weights are set to zero, so the warm-started decoder starts as exactly the source decoder.

    Raises:
        SettingsError: the two decoders' layers do not line up.
    """
    from depthstyle.models import load_model
    from depthstyle.models.decoder import SkipDecoder, narrow_skip_decoder

    src_decoder = load_model(source).decoder
    if isinstance(src_decoder, SkipDecoder) and isinstance(decoder, SkipDecoder):
        if (src_decoder.channels, src_decoder.strides) != (decoder.channels, decoder.strides):
            raise SettingsError(f"--init-from {source}: its decoder reads other taps")
        try:
            init = narrow_skip_decoder(src_decoder, decoder.widths, decoder.skip_width)
        except ValueError as exc:
            raise SettingsError(f"--init-from {source}: {exc}") from None
        decoder.load_state_dict(init.state_dict())
        log.info("decoder warm-started from %s (%s)", source,
                 "a copy" if decoder.widths == src_decoder.widths
                 and decoder.skip_width == src_decoder.skip_width else "its most used channels")
        return
    src = [t for t in src_decoder.state_dict().values()]
    dst = [(k, t) for k, t in decoder.state_dict().items() if not k.startswith("skips.")]
    if len(src) != len(dst):
        raise SettingsError(f"--init-from {source}: {len(src)} tensors, the new decoder's trunk "
                            f"has {len(dst)}")
    with torch.no_grad():
        for (key, d), s in zip(dst, src, strict=True):
            if d.shape == s.shape:
                d.copy_(s)
            elif d.ndim == 4 and d.shape[0] == s.shape[0] and d.shape[2:] == s.shape[2:] \
                    and d.shape[1] > s.shape[1]:
                d.zero_()
                d[:, : s.shape[1]].copy_(s)
            else:
                raise SettingsError(f"--init-from {source}: {key} is {tuple(d.shape)}, the "
                                    f"source's tensor is {tuple(s.shape)}")
    log.info("decoder warm-started from %s", source)


def _teacher(config: TrainConfig, encoder, level: int, device: torch.device
             ) -> torch.nn.Module | None:
    """The frozen decoder whose outputs a distilled decoder learns (``--distill-from``).

    Raises:
        SettingsError: the teacher reads another encoder or decodes another level.
    """
    if not config.distill_from:
        return None
    from depthstyle.models import load_model

    model = load_model(config.distill_from)
    if model.encoder.name != encoder.name or model.decode_level != level:
        raise SettingsError(f"--distill-from {config.distill_from}: the teacher decodes "
                            f"{model.encoder.name} level {model.decode_level}, this run "
                            f"{encoder.name} level {level}")
    teacher = model.decoder.to(device).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    log.info("distilling %s (weight %g)", config.distill_from, config.distill_weight)
    return teacher


def _widths_of(decoder: torch.nn.Sequential) -> tuple[int, ...]:
    convs = [m for m in decoder if isinstance(m, torch.nn.Conv2d)]
    # compact_decoder: a 1x1 conv, then two 3x3 convs per scale, then the RGB conv
    return tuple(c.in_channels for c in convs[1:-1:2])




def train(config: TrainConfig, *, progress: bool = True) -> Path:
    """Train (or resume) a decoder; returns the exported decoder path."""
    return Trainer(config).run(progress=progress)
