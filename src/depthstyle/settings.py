"""How to stylize: :class:`StyleSettings` and the one translation from user options.

The CLI (stylize, video, optimize, eval) and the web app all call
:meth:`StyleSettings.from_options`, so an option means the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from depthstyle.errors import SettingsError
from depthstyle.strength import DEFAULT_CONTRAST, DEFAULT_OFFSET, check_strength_params
from depthstyle.texture import DEFAULT_TEXTURE_MATCH

__all__ = ["StyleSettings", "ColorMode", "StrengthMode", "STRENGTH_MODES", "DetailMode",
           "DETAIL_MODES", "detail_mode"]

ColorMode = Literal["luminance", "histogram"]
StrengthMode = Literal["proximity", "learned", "uniform"]
STRENGTH_MODES = ("proximity", "learned", "uniform")
DetailMode = Literal["blend", "residual", "off"]
DETAIL_MODES = ("blend", "residual", "off")


def detail_mode(value: DetailMode | bool) -> DetailMode:
    """A detail mode from a mode name or a bool (``True`` = ``"blend"``, ``False`` = ``"off"``).

    Raises:
        SettingsError: an unknown name.
    """
    if value is True:
        return "blend"
    if value is False:
        return "off"
    if value not in DETAIL_MODES:
        raise SettingsError(f"detail must be one of {', '.join(DETAIL_MODES)}, got {value!r}")
    return value


@dataclass(frozen=True)
class StyleSettings:
    """How to stylize; every field has a safe default.

    Attributes:
        alpha: global strength in [0, 1] (0 = the photo back).
        offset: minimum strength fraction in [0, 1] (see :mod:`depthstyle.strength`).
        contrast: sharpness of the near/far split, >= 0.
        levels: encoder levels (1-based numbers or tap names) where strength acts; empty =
            the model's default (the decoded level; every level for skip decoders).
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
        detail: how the photo comes back where strength is low (docs/method.md, 5b):
            ``"blend"`` (default; one decoder pass, ``lerp(out, photo, (1 - S) ** 3)``),
            ``"residual"`` (a second decoder pass adds ``(1 - S)`` times what the decoder loses
            when it reconstructs the photo) or ``"off"`` (the decoder's output alone). ``True``
            and ``False`` mean ``"blend"`` and ``"off"``. Blend and residual give exactly the
            photo at strength 0.
        texture_match: in [0, 1], how far the output's luminance texture is moved to the
            painting's (docs/method.md 5d: the histograms of its oriented pyramid bands and of
            its luminance, blended in as ``texture_match * strength ** 3``); 0 = the decoder's
            texture as it is.
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
    detail: DetailMode | bool = "blend"
    texture_match: float = DEFAULT_TEXTURE_MATCH

    def __post_init__(self) -> None:
        if isinstance(self.detail, bool):
            object.__setattr__(self, "detail", detail_mode(self.detail))

    def validate(self) -> None:
        """Raise :class:`SettingsError` for invalid values."""
        detail_mode(self.detail)
        check_strength_params(self.offset, self.contrast, self.alpha)
        if self.preserve_color not in (None, "luminance", "histogram"):
            raise SettingsError(f"preserve_color must be None, 'luminance' or 'histogram', got "
                                f"{self.preserve_color!r}")
        if not 0 <= self.texture_match <= 1:
            raise SettingsError(f"texture_match must be in [0, 1], got {self.texture_match}")
        for name in ("content_size", "style_size"):
            v = getattr(self, name)
            if v is not None and not (16 <= v <= 8192):
                raise SettingsError(f"{name} must be between 16 and 8192 pixels, got {v}")
        if self.style_weights is not None and any(
                not (w >= 0 and w < float("inf")) for w in self.style_weights):
            raise SettingsError(f"style weights must be finite and >= 0, got "
                                f"{list(self.style_weights)}")

    @classmethod
    def from_options(cls, *, strength: str = "proximity", depth: bool = True,
                     levels: str | Sequence[int | str] | None = None,
                     preserve_color: str | None = None,
                     style_weights: Sequence[float] | None = None,
                     **fields) -> StyleSettings:
        """Checked settings from front-end options (CLI flags, form fields).

        Args:
            strength: ``"proximity"`` (hand-set transform of depth), ``"learned"`` (the
                model's learned module) or ``"uniform"`` (alpha everywhere, no depth).
            depth: whether any depth is available/wanted (``--depth none`` gives ``False``).
            levels: ``"1,2,3"``, a sequence, or ``None``/empty for the model's default.
            preserve_color: ``None``, ``"none"``, ``"luminance"`` or ``"histogram"``.
            style_weights: one weight per style, or ``None``.
            **fields: the other :class:`StyleSettings` fields (alpha, offset, contrast, invert,
                content_size, style_size, crop, detail, texture_match).

        Raises:
            SettingsError: unknown strength mode or field, or an invalid value.
        """
        if strength not in STRENGTH_MODES:
            raise SettingsError(f"strength must be one of {', '.join(STRENGTH_MODES)}, got "
                                f"{strength!r}")
        if isinstance(levels, str):
            levels = [x.strip() for x in levels.split(",") if x.strip()]
        unknown = set(fields) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        settings = cls(
            levels=tuple(levels or ()), depth_aware=depth and strength != "uniform",
            learned_strength=strength == "learned",
            preserve_color=None if preserve_color in (None, "none") else preserve_color,
            style_weights=tuple(float(w) for w in style_weights) if style_weights else None,
            **fields)
        settings.validate()
        return settings
