"""Training the learned strength module (``depthstyle train --learn-strength``).

The encoder and decoder of a trained model stay frozen; only the
:class:`~depthstyle.models.strength_net.StrengthNet` learns. For a content ``c`` with proximity
``P``, a style ``s`` and the module's per-level maps ``S_l``, the output is
``x = decoder(restyle(c))`` with ``f_l <- lerp(f_l, AdaIN(f_l, s_l), S_l)`` at every level, and::

    L = w_c * mean_p(P * |F_L(x) - F_L(c)|^2)       near regions keep the content's features
      + w_s * style_loss(F(x), F(s))                the image as a whole carries the style
      + w_d * depth_loss(x, c)                      Liu et al. 2017, with a depth model

Photo folders have no depth, so ``P`` is drawn from
:func:`~depthstyle.training.data.synthetic_proximity` (seeded by step, so runs resume exactly)
unless a depth model is given, whose prediction on each content is then used. The module starts
equal to the hand-set transform (``offset``, ``contrast``), so training starts from the paper's
method and can only move away from it where the losses say so.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from depthstyle.depth.maps import normalize_proximity
from depthstyle.errors import SettingsError
from depthstyle.models import load_model, save_decoder
from depthstyle.models.strength_net import StrengthNet
from depthstyle.ops import calc_mean_std, resize_map, restyle_encode
from depthstyle.strength import DEFAULT_CONTRAST, DEFAULT_OFFSET
from depthstyle.training.data import synthetic_proximity
from depthstyle.training.losses import depth_loss, style_loss
from depthstyle.training.trainer import CHECKPOINT, RunConfig, Trainer

__all__ = ["StrengthTrainConfig", "StrengthTrainer", "restyle"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StrengthTrainConfig(RunConfig):
    """Settings of a strength-module training run (stored in the checkpoint)."""

    base_model: str = "depthstyle-lite0"
    groups: int = 1
    hidden: int = 32
    offset: float = DEFAULT_OFFSET
    contrast: float = DEFAULT_CONTRAST
    content_weight: float = 10.0
    size: int = 224
    steps: int = 1000
    lr: float = 1e-3
    lr_decay: float = 0.0
    checkpoint_every: int = 100
    sample_every: int = 250

    def validate(self) -> None:
        """Raise :class:`SettingsError` for out-of-range values."""
        checks = [
            (self.size >= 32 and self.size % 16 == 0, "size must be a multiple of 16 >= 32"),
            (self.batch_size >= 1 and self.steps >= 1, "batch size and steps must be >= 1"),
            (self.lr > 0 and self.lr_decay >= 0, "lr must be > 0 and lr decay >= 0"),
            (min(self.content_weight, self.style_weight, self.depth_weight) >= 0,
             "loss weights must be >= 0"),
            (self.groups >= 1 and self.hidden >= 1, "groups and hidden must be >= 1"),
            (self.depth_weight == 0 or self.depth_model, "--depth-weight needs --depth-model"),
        ]
        for ok, msg in checks:
            if not ok:
                raise SettingsError(msg)


def restyle(model, content: torch.Tensor, style_stats, maps: list[torch.Tensor]
            ) -> torch.Tensor:
    """Decode ``content`` restyled at every level with per-level (grouped) maps (differentiable).

    The pipeline's own step (:func:`~depthstyle.ops.restyle_encode`), without the border
    padding and photo blend (or detail residual) that the engines add at inference.
    """
    enc, top = model.encoder, len(maps) - 1
    feats = restyle_encode(enc.stages[: top + 1], content, enc.strides, style_stats, list(maps),
                           range(top + 1))
    return model.decode(feats, maps[-1].mean(1, keepdim=True))


class StrengthTrainer(Trainer):
    """Trains a :class:`StrengthNet` on a frozen model; reuses :meth:`Trainer.run`'s loop."""

    def __init__(self, config: StrengthTrainConfig,
                 depth_fn: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        self._setup_run(config, depth_fn)
        self.model = load_model(config.base_model).to(self.device).eval()
        self.model.requires_grad_(False)
        self.encoder = self.model.encoder
        self.level = self.model.decode_level
        for c in self.encoder.channels[: self.level + 1]:
            if c % config.groups:
                raise SettingsError(f"{config.groups} groups do not divide the {c} channels of "
                                    f"every level ({list(self.encoder.channels)})")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.net = StrengthNet(self.level + 1, config.groups, config.hidden,
                                   init_levels=(self.level,)).to(self.device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.lr)

    @property
    def trainable(self) -> torch.nn.Module:  # noqa: D102
        return self.net

    def save_checkpoint(self) -> Path:  # noqa: D102
        from depthstyle.io import atomic_output

        self.out.mkdir(parents=True, exist_ok=True)
        state = {"step": self.step, "strength_net": self.net.state_dict(),
                 "optimizer": self.optimizer.state_dict(),
                 "config": json.dumps(dataclasses.asdict(self.config))}
        path = self.out / CHECKPOINT
        with atomic_output(path, overwrite=True) as tmp:
            torch.save(state, tmp)
        return path

    def load_checkpoint(self, path: Path) -> None:  # noqa: D102
        state = torch.load(path, map_location=self.device, weights_only=True)
        if "strength_net" not in state:
            raise SettingsError(f"{path}: a decoder checkpoint, not a strength-module one; use "
                                "another --output folder")
        old = json.loads(state["config"])
        for key in ("base_model", "groups", "hidden"):
            if old.get(key) != getattr(self.config, key):
                raise SettingsError(f"{path}: checkpoint was trained with {key}={old.get(key)!r},"
                                    f" not {getattr(self.config, key)!r}")
        self.net.load_state_dict(state["strength_net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])

    def proximity(self, content: torch.Tensor, step: int) -> torch.Tensor:
        """Proximity of the batch: the depth model's, or synthetic maps seeded by step."""
        if self.depth_fn is not None:
            with torch.no_grad():  # the depth contract of depth/: larger = nearer, then [0, 1]
                return normalize_proximity(self.depth_fn(content).float())
        gen = torch.Generator().manual_seed(self.config.seed * 15_485_863 + step)
        return synthetic_proximity(content.shape[0], content.shape[-1], gen).to(self.device)

    def losses(self, content: torch.Tensor, style: torch.Tensor, step: int
               ) -> dict[str, torch.Tensor]:
        """Forward pass and losses of one batch."""
        cfg, lv = self.config, self.level
        prox = self.proximity(content, step)
        with torch.no_grad():
            f_c = self.encoder(content, upto=lv)
            f_s = self.encoder(style, upto=lv)
            stats_c = [calc_mean_std(f) for f in f_c]
            stats_s = [calc_mean_std(f) for f in f_s]
        maps = self.net(prox, stats_c, stats_s, offset=cfg.offset, contrast=cfg.contrast)
        out = restyle(self.model, content, stats_s, maps)
        f_o = self.encoder(out, upto=lv)
        near = resize_map(prox, f_o[lv].shape[-2:])
        terms = {"content": (near * (f_o[lv] - f_c[lv]).pow(2)).mean(),
                 "style": style_loss(f_o, f_s)}
        total = cfg.content_weight * terms["content"] + cfg.style_weight * terms["style"]
        if cfg.depth_weight > 0 and self.depth_fn is not None:
            terms["depth"] = depth_loss(self.depth_fn, out.clamp(0, 1), content)
            total = total + cfg.depth_weight * terms["depth"]
        terms["total"] = total
        terms["mean_strength"] = maps[lv].mean().detach()
        return terms

    @torch.no_grad()
    def save_samples(self, n: int = 4) -> Path:
        """Rows: content, proximity, hand-set output, learned output, learned strength."""
        from depthstyle.io import save_image
        from depthstyle.strength import strength_from_proximity

        gen = torch.Generator().manual_seed(12_345)
        c = self.content.batch(n, gen).to(self.device)
        s = self.style.batch(n, gen).to(self.device)
        prox = self.proximity(c, 0)
        lv, cfg = self.level, self.config
        stats_c = [calc_mean_std(f) for f in self.encoder(c, upto=lv)]
        stats_s = [calc_mean_std(f) for f in self.encoder(s, upto=lv)]
        self.net.eval()
        learned = self.net(prox, stats_c, stats_s, offset=cfg.offset, contrast=cfg.contrast)
        hand = [torch.zeros_like(prox)] * lv + [
            strength_from_proximity(prox, cfg.offset, cfg.contrast)]
        rows = [c, prox.expand(-1, 3, -1, -1),
                restyle(self.model, c, stats_s, hand).clamp(0, 1),
                restyle(self.model, c, stats_s, learned).clamp(0, 1),
                learned[lv].mean(1, keepdim=True).expand(-1, 3, -1, -1)]
        grid = torch.cat([torch.cat(list(r), dim=2) for r in rows], dim=1).unsqueeze(0)
        path = self.out / "samples" / f"step_{self.step:07d}.png"
        save_image(grid.cpu(), path, overwrite=True)
        return path

    def export(self, path: Path | None = None) -> Path:
        """Write the base model's decoder with the trained module as one loadable file."""
        path = path or self.out / "model.safetensors"
        widths = tuple(json.loads(self.model.metadata.get("widths", "[]")))
        seed = int(self.model.metadata.get("encoder_seed", "0"))
        extra = {k: v for k, v in self.model.metadata.items()
                 if k not in ("format", "encoder", "encoder_seed", "widths", "decode_level")
                 and not k.startswith("strength_")}
        extra.update({"strength_steps": str(self.step), "strength_offset": str(self.config.offset),
                      "strength_contrast": str(self.config.contrast),
                      "strength_style_weight": str(self.config.style_weight),
                      "strength_content_weight": str(self.config.content_weight),
                      "strength_depth_weight": str(self.config.depth_weight)})
        if not widths:
            raise SettingsError(f"{self.config.base_model}: only compact-decoder models (trained "
                                "by `depthstyle train`) can carry a strength module")
        return save_decoder(self.model.decoder, path, encoder=self.encoder, widths=widths,
                            decode_level=self.level, seed=seed, extra=extra,
                            strength_net=self.net)

