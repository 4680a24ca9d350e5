"""Optimisation baseline (``depthstyle optimize``): Gatys-style image optimisation.

The image itself is optimised, with no decoder, in the feature space of the model's encoder
(Gatys, Ecker & Bethge, CVPR 2016), with the same depth-aware strength map ``S`` as the
feed-forward pipeline (see docs/method.md, "Optimisation baseline")::

    L = w_c * L_content + w_s * L_style + w_p * L_patch + w_d * L_depth + w_tv * L_tv

    L_content = mean_p (1 - S_L(p)) * mean_c (F_L(x) - F_L(c))^2         deepest level L
    L_style   = sum_l mean(S_l) * D(stats_{S_l}(F_l(x)), stats(F_l(s)))    every level l <= L
    L_patch   = mean(S) * SW(5x5 pixel patches of x, of s), three octaves   (no network)
    L_depth   = MSE of standardised depth predictions of x and c         (Liu et al. 2017)
    L_tv      = mean squared difference of neighbouring pixels

``S_l`` is ``S`` area-resized to level ``l``; ``stats_{S_l}`` are channel mean/std (``"meanstd"``)
or the Gram matrix (``"gram"``) over pixels weighted by ``S_l``. ``L_patch`` is the sliced
Wasserstein distance between the image's and the painting's pixel patches
(:func:`depthstyle.training.losses.patch_swd_loss`, docs/method.md §6), with fixed directions and
patch positions so that the objective is deterministic; the image's patches are drawn in
proportion to ``S`` (only the stylized part must look like the painting), and the term is
scaled by the mean strength. Where ``S`` is high the image
must carry the style's statistics. Where it is low it must keep the content's features. With a
uniform ``S = alpha`` this is Gatys' loss with the content/style balance set by alpha. The
pixels are ``sigmoid(z)`` so they stay in [0, 1] without clipping, and L-BFGS (strong Wolfe
line search: the loss never increases between iterations) or Adam updates ``z``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import torch

from depthstyle.errors import SettingsError
from depthstyle.ops import resize_map
from depthstyle.pipeline import ImageLike, StyleSettings, Stylizer
from depthstyle.training.losses import (
    depth_loss,
    gram_matrix,
    patch_swd_loss,
    tv_loss,
    weighted_mean_std,
)

__all__ = ["OptimizeConfig", "OptimizeResult", "optimize_image", "objective"]

log = logging.getLogger(__name__)
_PATCH_POINTS = 16_384  # patches per octave in the patch term, drawn in proportion to strength


@dataclass(frozen=True)
class OptimizeConfig:
    """How to optimise.

    Attributes:
        steps: optimiser iterations (an L-BFGS iteration includes its line search).
        optimizer: ``"lbfgs"`` or ``"adam"``.
        lr: step size (L-BFGS: initial line-search step; Adam: learning rate on the logits).
        style_loss: ``"meanstd"`` (AdaIN's statistics) or ``"gram"`` (Gatys).
        init: start from the ``"content"`` or from the feed-forward ``"adain"`` output.
        content_weight, style_weight, patch_weight, depth_weight, tv_weight: loss weights
            (depth needs a depth function).
    """

    steps: int = 100
    optimizer: Literal["lbfgs", "adam"] = "lbfgs"
    lr: float | None = None
    style_loss: Literal["meanstd", "gram"] = "meanstd"
    init: Literal["content", "adain"] = "content"
    content_weight: float = 1.0
    style_weight: float = 10.0
    patch_weight: float = 0.0
    depth_weight: float = 0.0
    tv_weight: float = 0.0

    def validate(self) -> None:
        """Raise :class:`SettingsError` for invalid values."""
        if self.steps < 1:
            raise SettingsError(f"steps must be >= 1, got {self.steps}")
        if self.optimizer not in ("lbfgs", "adam"):
            raise SettingsError(f"optimizer must be 'lbfgs' or 'adam', got {self.optimizer!r}")
        if self.style_loss not in ("meanstd", "gram"):
            raise SettingsError(f"style loss must be 'meanstd' or 'gram', got {self.style_loss!r}")
        if self.init not in ("content", "adain"):
            raise SettingsError(f"init must be 'content' or 'adain', got {self.init!r}")
        weights = (self.content_weight, self.style_weight, self.patch_weight, self.depth_weight,
                   self.tv_weight)
        if any(not (0 <= w < float("inf")) for w in weights):
            raise SettingsError("loss weights must be finite and >= 0")
        if self.lr is not None and not (0 < self.lr < float("inf")):
            raise SettingsError(f"lr must be > 0, got {self.lr}")

    @property
    def step_size(self) -> float:  # noqa: D102
        return self.lr if self.lr is not None else (1.0 if self.optimizer == "lbfgs" else 0.05)


@dataclass
class OptimizeResult:
    """Output of :func:`optimize_image`.

    Attributes:
        image: (1, 3, H, W) optimised image in [0, 1].
        strength: (1, 1, H, W) the strength map that weighted the losses.
        content: (1, 3, H, W) the resized content.
        init: (1, 3, H, W) the starting image.
        history: the losses after each iteration (entry 0: the starting image): ``iteration``,
            ``total`` and each term, ``seconds`` since the start.
    """

    image: torch.Tensor
    strength: torch.Tensor
    content: torch.Tensor
    init: torch.Tensor
    history: list[dict[str, float]] = field(default_factory=list)


def _logit(x: torch.Tensor) -> torch.Tensor:
    x = x.clamp(1e-3, 1 - 1e-3)
    return torch.log(x) - torch.log1p(-x)


def objective(encoder, content: torch.Tensor, style: torch.Tensor, strength: torch.Tensor,
              config: OptimizeConfig, upto: int,
              depth_fn: Callable[[torch.Tensor], torch.Tensor] | None = None
              ) -> Callable[[torch.Tensor], dict[str, torch.Tensor]]:
    """The loss of docs/method.md as a function of the image (targets computed once here)."""
    with torch.no_grad():
        content_feat = encoder(content, upto=upto)[-1]
        style_feats = encoder(style, upto=upto)
        if config.style_loss == "gram":
            targets = [gram_matrix(f) for f in style_feats]
        else:
            targets = [weighted_mean_std(f) for f in style_feats]
    maps: list[torch.Tensor] = []  # strength at each level, made on the first call
    stylized = float(strength.max()) > 0  # the patch term has patches to draw

    def loss(x: torch.Tensor) -> dict[str, torch.Tensor]:
        feats = encoder(x, upto=upto)
        if not maps:
            maps.extend(resize_map(strength, f.shape[-2:]) for f in feats)
        keep = 1.0 - maps[-1]
        terms = {"content": (keep * (feats[-1] - content_feat).pow(2).mean(1, keepdim=True))
                 .mean()}
        style_total = x.new_zeros(())
        for f, s_map, target in zip(feats, maps, targets, strict=True):
            amount = s_map.mean()
            if config.style_loss == "gram":
                d = (gram_matrix(f, s_map) - target).pow(2).mean()
            else:
                m, sd = weighted_mean_std(f, s_map)
                d = (m - target[0]).pow(2).mean() + (sd - target[1]).pow(2).mean()
            style_total = style_total + amount * d
        terms["style"] = style_total
        total = config.content_weight * terms["content"] + config.style_weight * style_total
        if config.patch_weight > 0:
            # the same directions and patch positions on every call: L-BFGS's line search
            # needs a deterministic objective
            fixed = torch.Generator().manual_seed(0)
            terms["patch"] = strength.mean() * patch_swd_loss(
                x, style, points=_PATCH_POINTS, generator=fixed, where=strength
            ) if stylized else x.new_zeros(())
            total = total + config.patch_weight * terms["patch"]
        if config.tv_weight > 0:
            terms["tv"] = tv_loss(x)
            total = total + config.tv_weight * terms["tv"]
        if config.depth_weight > 0 and depth_fn is not None:
            terms["depth"] = depth_loss(depth_fn, x, content)
            total = total + config.depth_weight * terms["depth"]
        terms["total"] = total
        return terms

    return loss


def optimize_image(
    stylizer: Stylizer,
    content: ImageLike,
    style: ImageLike,
    settings: StyleSettings | None = None,
    config: OptimizeConfig | None = None,
    *,
    depth=None,
    depth_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
    progress: bool = True,
    callback: Callable[[dict[str, float]], None] | None = None,
) -> OptimizeResult:
    """Optimise an image for ``content`` and ``style`` with depth-aware strength.

    Args:
        stylizer: a PyTorch :class:`Stylizer`: its encoder is the loss network, and it makes the
            strength map (same settings and depth as ``depthstyle stylize``) and the AdaIN
            initialisation.
        content, style: images (tensors or paths); ``settings.content_size`` /
            ``style_size`` resize them.
        settings: strength settings (alpha, offset, contrast, depth on/off...).
        config: :class:`OptimizeConfig`.
        depth: depth source for the strength map, as for :meth:`Stylizer.__call__`.
        depth_fn: differentiable image -> depth function for ``config.depth_weight``.
        progress: show a progress bar with the current loss.
        callback: called with each iteration's history entry.

    Raises:
        SettingsError: invalid settings, or a depth weight without ``depth_fn``.
    """
    from tqdm.auto import tqdm

    settings = settings or StyleSettings()
    config = config or OptimizeConfig()
    config.validate()
    from depthstyle.engines import TorchEngine

    engine = stylizer.engine
    if not isinstance(engine, TorchEngine):  # the optimiser needs the encoder's gradients
        raise SettingsError("optimisation needs the PyTorch backend (the encoder's gradients)")
    if config.depth_weight > 0 and depth_fn is None:
        raise SettingsError("a depth-loss weight needs a depth model (--depth-model)")
    if engine.half:
        raise SettingsError("optimisation runs in float32: use a Stylizer without half=True")
    ff = stylizer(content, style, settings, depth=depth)
    device = stylizer.device
    model = engine.model
    c = ff.content.to(device)
    s_img = stylizer.load_style(style, settings).to(device)
    strength = ff.strength.to(device)
    loss_fn = objective(model.encoder, c, s_img, strength, config, model.decode_level, depth_fn)
    init = ff.image if config.init == "adain" else ff.content
    z = _logit(init.to(device)).contiguous().detach().requires_grad_(True)
    if config.optimizer == "lbfgs":
        opt = torch.optim.LBFGS([z], lr=config.step_size, max_iter=1, history_size=50,
                                line_search_fn="strong_wolfe")
    else:
        opt = torch.optim.Adam([z], lr=config.step_size)
    history: list[dict[str, float]] = []

    def closure():
        opt.zero_grad(set_to_none=True)
        total = loss_fn(torch.sigmoid(z))["total"]
        total.backward()
        return total

    def record(iteration: int) -> dict[str, float]:
        with torch.no_grad():
            terms = {k: float(v) for k, v in loss_fn(torch.sigmoid(z)).items()}
        if not all(math.isfinite(v) for v in terms.values()):
            raise SettingsError("the loss became NaN or infinite; lower --lr")
        entry = {"iteration": iteration, **terms, "seconds": time.perf_counter() - t0}
        history.append(entry)
        if callback:
            callback(entry)
        return entry

    t0 = time.perf_counter()
    bar = tqdm(range(config.steps), desc=f"optimize ({config.optimizer})", unit="it",
               disable=None if progress else True)
    with torch.enable_grad():
        entry = record(0)
        for it in bar:
            bar.set_postfix(loss=f"{entry['total']:.4g}")
            opt.step(closure)
            entry = record(it + 1)
    bar.close()
    return OptimizeResult(image=torch.sigmoid(z).detach().cpu(), strength=ff.strength,
                          content=ff.content, init=init.cpu(), history=history)
