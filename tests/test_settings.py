"""StyleSettings and the one translation from front-end options."""

import pytest

from depthstyle.errors import SettingsError
from depthstyle.settings import StyleSettings


def test_from_options_maps_every_mode():
    s = StyleSettings.from_options(strength="proximity", levels="1, 3", preserve_color="none",
                                   alpha=0.5)
    assert s.depth_aware and not s.learned_strength and s.levels == ("1", "3")
    assert s.preserve_color is None and s.alpha == 0.5
    u = StyleSettings.from_options(strength="uniform")
    assert not u.depth_aware and not u.learned_strength
    learned = StyleSettings.from_options(strength="learned", preserve_color="luminance")
    assert learned.learned_strength and learned.depth_aware
    assert learned.preserve_color == "luminance"
    off = StyleSettings.from_options(strength="proximity", depth=False, style_weights=[1, 3])
    assert not off.depth_aware and off.style_weights == (1.0, 3.0)
    assert StyleSettings.from_options(detail=False).detail == "off"
    assert StyleSettings.from_options(detail="residual").detail == "residual"
    assert StyleSettings.from_options().detail == "blend"


@pytest.mark.parametrize("kwargs, match", [
    ({"strength": "sometimes"}, "strength must be one of"),
    ({"alpha": 2.0}, "alpha"),
    ({"colour": "red"}, "unknown setting"),
    ({"preserve_color": "sepia"}, "preserve_color"),
    ({"style_weights": [1, -1]}, "style weights"),
])
def test_from_options_refuses_bad_values(kwargs, match):
    with pytest.raises(SettingsError, match=match):
        StyleSettings.from_options(**kwargs)
