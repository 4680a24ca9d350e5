"""Checks of settings and call arguments against a model, before any work.

Every check that needs no image runs here, so a bad call fails in milliseconds with one clear
:class:`~depthstyle.errors.SettingsError` instead of after the depth model and the encoder ran.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from depthstyle.engines import Engine
from depthstyle.errors import SettingsError
from depthstyle.models.encoder import level_index
from depthstyle.settings import StyleSettings

__all__ = ["select_levels", "check_learned", "check_call"]


def select_levels(settings: StyleSettings, engine: Engine) -> list[int]:
    """The 0-based encoder levels the strength acts at (the model's default when none given).

    Raises:
        SettingsError: an unknown level, a level given twice, or one deeper than the level the
            model decodes.
    """
    names, top = engine.level_names, engine.decode_level
    if not settings.levels:
        return list(engine.default_levels)
    try:
        given = [level_index(names, lv) for lv in settings.levels]
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    repeated = sorted({names[i] for i in given if given.count(i) > 1})
    if repeated:
        raise SettingsError(f"level {', '.join(repeated)} is given more than once; give each "
                            "level once (e.g. --levels 1,2,3)")
    levels = sorted(given)
    if levels[-1] > top:
        raise SettingsError(
            f"level {names[levels[-1]]} is deeper than the level this model "
            f"decodes ({top + 1}, {names[top]}); use levels 1..{top + 1}")
    return levels


def check_learned(settings: StyleSettings, engine: Engine) -> None:
    """Learned strength needs a model with the module, and sets the levels itself."""
    if not engine.has_learned_strength:
        raise SettingsError(f"model {engine.name} has no learned strength module; train "
                            "one with `depthstyle train --learn-strength` (or use the "
                            "PyTorch backend)")
    if settings.levels:
        raise SettingsError("learned strength sets every level itself; drop --levels")


def check_call(settings: StyleSettings, engine: Engine, styles,
               masks: torch.Tensor | None, strength) -> list:
    """Every check of one stylization call that needs no image; returns the styles as a list."""
    settings.validate()
    style_list = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    if not style_list:
        raise SettingsError("at least one style is required")
    weights: Sequence[float] | None = settings.style_weights
    if weights is not None and len(weights) != len(style_list):
        raise SettingsError(f"{len(weights)} style weights for {len(style_list)} styles")
    if masks is not None:
        if masks.ndim != 4 or masks.shape[1] != len(style_list):
            raise SettingsError(f"masks must have one channel per style ({len(style_list)}),"
                                f" got shape {tuple(masks.shape)}")
        if not engine.supports_masks:
            raise SettingsError(f"spatial style masks are not supported by "
                                f"{engine.name}; use the PyTorch backend")
    select_levels(settings, engine)
    if settings.learned_strength:
        check_learned(settings, engine)
        if strength is not None and not isinstance(strength, list):
            raise SettingsError("learned strength makes its own maps from proximity; it "
                                "cannot take one given strength map")
        if masks is not None:
            raise SettingsError("learned strength cannot be combined with style masks")
    return style_list
