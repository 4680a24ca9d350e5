"""Training losses.

* content and mean/std style losses: Huang & Belongie, ICCV 2017, eqs. 11-13;
* Gram-matrix style loss: Gatys, Ecker & Bethge, CVPR 2016 (second-order texture statistics);
* sliced Wasserstein style loss: Heitz, Vanhoey, Chambon & Belcour, "A Sliced Wasserstein Loss
  for Neural Texture Synthesis", CVPR 2021 (whole feature distributions, compared along random
  directions);
* patch sliced Wasserstein loss: the same distance on the image's own k×k pixel patches at
  several scales of a pyramid (as in Elnekave & Weiss, "Generating Natural Images with Direct
  Patch Distributions Matching", ECCV 2022): the painting's brushwork in pixels, with no
  network in between;
* depth-preservation loss: Liu, Cheng, Lai & Rosin, "Depth-aware neural style transfer",
  NPAR 2017 (a distance between a depth network's outputs on the stylized and the content
  image). We compare per-image standardised outputs so the loss ignores the scale and shift
  ambiguity of monocular depth.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from depthstyle.ops import calc_mean_std

__all__ = ["content_loss", "style_loss", "stats_loss", "depth_loss", "standardize",
           "weighted_mean_std", "gram_matrix", "gram_loss", "sliced_wasserstein_loss",
           "patch_features", "patch_swd_loss", "tv_loss"]


def content_loss(output_feat: torch.Tensor, target_feat: torch.Tensor) -> torch.Tensor:
    """MSE between the output's deepest features and the AdaIN target (eq. 12)."""
    return F.mse_loss(output_feat, target_feat)


def style_loss(output_feats: Sequence[torch.Tensor], style_feats: Sequence[torch.Tensor]
               ) -> torch.Tensor:
    """Sum over levels of MSE of channel means plus MSE of channel stds (eq. 13)."""
    return stats_loss(output_feats, [calc_mean_std(s) for s in style_feats])


def stats_loss(output_feats: Sequence[torch.Tensor],
               target_stats: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """:func:`style_loss` against given per-level (mean, std) targets, each (B, C, 1, 1)."""
    total = output_feats[0].new_zeros(())
    for o, (sm, ss) in zip(output_feats, target_stats, strict=True):
        om, os_ = calc_mean_std(o)
        total = total + F.mse_loss(om, sm) + F.mse_loss(os_, ss)
    return total


def gram_loss(output_feats: Sequence[torch.Tensor], style_feats: Sequence[torch.Tensor]
              ) -> torch.Tensor:
    """Sum over levels of the MSE between Gram matrices (Gatys et al. 2016), per image.

    Second-order texture statistics: the mean/std loss matches each channel alone, this one
    also how channels co-occur, which is what tells one brushwork from another.
    """
    total = output_feats[0].new_zeros(())
    for o, s in zip(output_feats, style_feats, strict=True):
        total = total + F.mse_loss(gram_matrix(o), gram_matrix(s))
    return total


def sliced_wasserstein_loss(output_feats: Sequence[torch.Tensor],
                            style_feats: Sequence[torch.Tensor], projections: int | None = None,
                            generator: torch.Generator | None = None) -> torch.Tensor:
    """Sum over levels of the sliced Wasserstein distance between feature distributions.

    Each image's pixels at one level are a cloud of C-dimensional feature vectors. Both clouds
    are projected onto ``projections`` random unit directions (default: C; new ones on every
    call, drawn from ``generator``), each projection is sorted, and the sorted values (the
    quantile functions) are compared by MSE; the style's quantiles are resampled to the
    output's pixel count. Zero exactly when every projection has the same distribution, so it
    asks for the style's whole distribution of features, not only the first two moments that
    the mean/std loss matches (Heitz et al. 2021).
    """
    total = output_feats[0].new_zeros(())
    for o, s in zip(output_feats, style_feats, strict=True):
        if o.shape[:2] != s.shape[:2]:
            raise ValueError(f"feature shapes {tuple(o.shape)} and {tuple(s.shape)} differ in "
                             "batch or channels")
        c = o.shape[1]
        dirs = torch.randn(c, projections or c, generator=generator, dtype=torch.float32,
                           device="cpu" if generator is not None else o.device)
        dirs = F.normalize(dirs, dim=0).to(o.device, o.dtype)
        po = torch.einsum("bcn,ck->bkn", o.flatten(2), dirs).sort(-1).values
        ps = torch.einsum("bcn,ck->bkn", s.flatten(2), dirs).sort(-1).values
        if ps.shape[-1] != po.shape[-1]:
            ps = F.interpolate(ps, size=po.shape[-1], mode="linear", align_corners=True)
        total = total + F.mse_loss(po, ps)
    return total


def patch_features(image: torch.Tensor, patch: int = 5, scales: int = 3,
                   points: int | None = None, generator: torch.Generator | None = None,
                   where: torch.Tensor | None = None) -> list[torch.Tensor]:
    """The image's ``patch``×``patch`` pixel patches at ``scales`` octaves (2×2 mean pooling).

    Returns one (B, 3·patch², n, 1) tensor per scale, finest first: each of the n patches (all
    positions where a patch fits, stride 1; or ``points`` of them drawn at random from
    ``generator``, the same positions for the whole batch) as one point of a cloud that
    :func:`sliced_wasserstein_loss` can compare. With ``where``, a (1, 1, H, W) map >= 0 (a
    strength map), ``points`` positions are drawn with replacement in proportion to the map
    at each patch's centre, so that the cloud holds the patches of where the map is high (at
    random, as without it, where no centre has weight).
    """
    if patch < 1 or scales < 1:
        raise ValueError(f"patch and scales must be >= 1, got {patch} and {scales}")
    if where is not None and (points is None or where.shape[-2:] != image.shape[-2:]):
        raise ValueError("'where' needs 'points' and the image's size")
    clouds = []
    x = image
    for i in range(scales):
        if i:
            x = F.avg_pool2d(x, 2)
            where = F.avg_pool2d(where, 2) if where is not None else None
        if min(x.shape[-2:]) < patch:
            raise ValueError(f"image {tuple(image.shape[-2:])} is too small for {scales} scales "
                             f"of {patch}x{patch} patches")
        h, w = x.shape[-2] - patch + 1, x.shape[-1] - patch + 1
        centre = (where[0, 0, patch // 2: patch // 2 + h, patch // 2: patch // 2 + w]
                  .flatten().detach().float().cpu() if where is not None else None)
        if centre is not None and float(centre.sum()) > 0:
            at = torch.multinomial(centre, points, replacement=True, generator=generator)
        elif centre is None and (points is None or h * w <= points):
            clouds.append(F.unfold(x, patch).unsqueeze(-1))
            continue
        else:
            at = torch.randperm(h * w, generator=generator)[:points]
        # gather only the drawn patches: unfolding every position costs far more
        at = (at // w) * x.shape[-1] + at % w
        grid = torch.arange(patch)
        offsets = (grid[:, None] * x.shape[-1] + grid[None, :]).flatten()
        index = (offsets[:, None] + at[None, :]).flatten().to(x.device)
        clouds.append(x.flatten(2)[..., index].reshape(x.shape[0], -1, at.numel()).unsqueeze(-1))
    return clouds


def patch_swd_loss(output: torch.Tensor, style: torch.Tensor, patch: int = 5, scales: int = 3,
                   projections: int | None = None, points: int | None = None,
                   generator: torch.Generator | None = None, where: torch.Tensor | None = None
                   ) -> torch.Tensor:
    """Sliced Wasserstein distance between the pixel-patch distributions of two images.

    ``output`` and ``style`` are (B, 3, H, W) images in [0, 1] (sizes may differ); the sum over
    the scales of :func:`patch_features` of :func:`sliced_wasserstein_loss`. Zero exactly when
    the output is made of the style's patches in the style's proportions, at every scale: it
    asks for the painting's own strokes and edges, which the loss network's channel statistics
    can be met without (model card, "Why specificity does not move"). ``points`` patches per
    scale and image, drawn at random, make it cheap enough for training (all of them by
    default). ``where`` (a strength map at the output's size) draws the output's patches where
    it is high (see :func:`patch_features`): only the stylized part must look like the painting.
    """
    return sliced_wasserstein_loss(patch_features(output, patch, scales, points, generator,
                                                  where),
                                   patch_features(style, patch, scales, points, generator),
                                   projections=projections, generator=generator)


def standardize(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Per-image zero mean, unit std over all non-batch dimensions."""
    flat = x.flatten(1)
    mean = flat.mean(1).view(-1, *([1] * (x.ndim - 1)))
    std = flat.std(1, unbiased=False).view(-1, *([1] * (x.ndim - 1)))
    return (x - mean) / (std + eps)


def depth_loss(depth_fn: Callable[[torch.Tensor], torch.Tensor], output: torch.Tensor,
               content: torch.Tensor) -> torch.Tensor:
    """MSE between standardised depth predictions of output and content (Liu et al. 2017).

    ``depth_fn`` maps (B, 3, H, W) RGB in [0, 1] to (B, 1, h, w) depth-like maps and must be
    differentiable; the content's prediction is treated as a constant target.
    """
    with torch.no_grad():
        target = standardize(depth_fn(content))
    pred = standardize(depth_fn(output))
    if pred.shape[-2:] != target.shape[-2:]:
        pred = F.interpolate(pred, size=target.shape[-2:], mode="bilinear", align_corners=False)
    return F.mse_loss(pred, target)


def weighted_mean_std(feat: torch.Tensor, weights: torch.Tensor | None = None, eps: float = 1e-5
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Channel mean/std of (B, C, H, W) features with per-pixel ``weights`` (B, 1, H, W).

    Without weights this is :func:`~depthstyle.ops.calc_mean_std`. All-zero weights give zeros
    (the caller multiplies the loss by the weights' mean, so it vanishes).
    """
    if weights is None:
        return calc_mean_std(feat, eps)
    total = weights.sum(dim=(2, 3), keepdim=True).clamp_min(1e-8)
    mean = (feat * weights).sum(dim=(2, 3), keepdim=True) / total
    var = (((feat - mean) ** 2) * weights).sum(dim=(2, 3), keepdim=True) / total
    return mean, torch.sqrt(var + eps)


def gram_matrix(feat: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """(B, C, C) Gram matrix of (B, C, H, W) features, averaged over (weighted) pixels."""
    b, c = feat.shape[:2]
    f = feat.flatten(2)
    if weights is None:
        return f @ f.transpose(1, 2) / f.shape[-1]
    w = weights.flatten(2)
    return (f * w) @ f.transpose(1, 2) / w.sum(-1, keepdim=True).clamp_min(1e-8)


def tv_loss(img: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between neighbouring pixels (total variation, squared)."""
    dy = (img[..., 1:, :] - img[..., :-1, :]).pow(2).mean()
    dx = (img[..., :, 1:] - img[..., :, :-1]).pow(2).mean()
    return dx + dy
