"""Learned strength: per-level (and per channel group) strength maps from proximity and statistics.

The hand-set transform of :mod:`depthstyle.strength` gives one map ``S(P)`` that acts at the
selected encoder levels. :class:`StrengthNet` refines it per level ``l`` and channel group ``g``::

    S_lg = alpha * clamp(B_l(P) + a_lg * (P - mean P) + b_lg, 0, 1)

where ``B_l(P)`` is the hand-set ``S(P) / alpha`` at the levels it was initialised with
(``init_levels``, by default the decoded level) and 0 elsewhere, and ``(a, b)`` come from a small
MLP over the content/style statistics: per level, the mean log ratio of style to content channel
std and the mean normalised distance of the channel means, plus the spread of ``P``. The MLP's
last layer starts at zero, so an untrained module *is* the hand-set transform: same maps at the
same levels, exactly. Training (``depthstyle train --learn-strength``) moves it from there.
"""

from __future__ import annotations

import torch
from torch import nn

from depthstyle.strength import strength_core

__all__ = ["StrengthNet", "pair_features"]

Stats = list[tuple[torch.Tensor, torch.Tensor]]


def pair_features(content_stats: Stats, style_stats: Stats, proximity: torch.Tensor
                  ) -> torch.Tensor:
    """(B, 2 * L + 1) features of a content/style pair and the proximity map."""
    feats = []
    for (cm, cs), (sm, ss) in zip(content_stats, style_stats, strict=True):
        b = cm.shape[0]
        sm, ss = sm.expand(b, -1, -1, -1), ss.expand(b, -1, -1, -1)
        feats.append(torch.log(ss / cs).flatten(1).mean(1))
        feats.append(((sm - cm).abs() / cs).flatten(1).mean(1))
    feats.append(proximity.flatten(1).std(1, unbiased=False) * 4)  # ~[0, 2]
    return torch.stack(feats, dim=1)


class StrengthNet(nn.Module):
    """Per-level, per-group strength maps; starts equal to the hand-set transform.

    Args:
        num_levels: encoder levels up to the decoded one (L).
        groups: channel groups per level (each level's channel count must be divisible by it).
        hidden: width of the MLP.
        init_levels: 0-based levels where the hand-set map acts at initialisation (default:
            the deepest).
    """

    def __init__(self, num_levels: int, groups: int = 1, hidden: int = 32,
                 init_levels: tuple[int, ...] | None = None) -> None:
        super().__init__()
        self.num_levels, self.groups, self.hidden = num_levels, groups, hidden
        init = (num_levels - 1,) if init_levels is None else tuple(sorted(set(init_levels)))
        if not init or min(init) < 0 or max(init) >= num_levels:
            raise ValueError(f"init levels {init_levels} out of range for {num_levels} levels")
        self.register_buffer("base_levels", torch.zeros(num_levels))
        self.base_levels[list(init)] = 1.0
        self.mlp = nn.Sequential(nn.Linear(2 * num_levels + 1, hidden), nn.ReLU(),
                                 nn.Linear(hidden, num_levels * groups * 2))
        nn.init.zeros_(self.mlp[2].weight)
        nn.init.zeros_(self.mlp[2].bias)

    @property
    def init_levels(self) -> tuple[int, ...]:  # noqa: D102
        return tuple(int(i) for i in torch.nonzero(self.base_levels).flatten())

    def config(self) -> dict[str, str]:
        """What :meth:`from_config` needs (stored as weights-file metadata)."""
        return {"strength_levels": str(self.num_levels), "strength_groups": str(self.groups),
                "strength_hidden": str(self.hidden),
                "strength_init_levels": ",".join(map(str, self.init_levels))}

    @classmethod
    def from_config(cls, meta: dict[str, str]) -> StrengthNet:  # noqa: D102
        init = tuple(int(x) for x in meta["strength_init_levels"].split(",") if x)
        return cls(int(meta["strength_levels"]), int(meta["strength_groups"]),
                   int(meta["strength_hidden"]), init)

    def forward(self, proximity: torch.Tensor, content_stats: Stats, style_stats: Stats, *,
                offset: float, contrast: float, alpha: float = 1.0, invert: bool = False
                ) -> list[torch.Tensor]:
        """Maps (B, groups, H, W) in [0, 1], one per level, at the proximity's resolution."""
        p = proximity.clamp(0, 1)
        if invert:
            p = 1.0 - p
        base = strength_core(p, offset, contrast, 1.0)
        coef = self.mlp(pair_features(content_stats, style_stats, p))
        coef = coef.view(-1, self.num_levels, self.groups, 2)
        centred = p - p.mean(dim=(2, 3), keepdim=True)
        maps = []
        for lv in range(self.num_levels):
            a = coef[:, lv, :, 0, None, None]
            b = coef[:, lv, :, 1, None, None]
            s = base * self.base_levels[lv] + a * centred + b
            maps.append(alpha * s.clamp(0.0, 1.0))
        return maps
