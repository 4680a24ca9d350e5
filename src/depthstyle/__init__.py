"""depthstyle: depth-aware arbitrary style transfer.

AdaIN (Huang & Belongie, ICCV 2017) with a per-pixel stylization strength computed from the
content's proximity map (Kitov, Kozlovtsev & Mishustina, arXiv 1906.01123): near objects keep
more content, far regions take more style.

Example:
    >>> from depthstyle import Stylizer, StyleSettings, save_image  # doctest: +SKIP
    >>> out = Stylizer()("photo.jpg", "painting.jpg", StyleSettings(alpha=0.9))  # doctest: +SKIP
    >>> save_image(out.image, "out.png")  # doctest: +SKIP
"""

from depthstyle.depth import ConstantDepth, DepthMapFile, make_depth_source
from depthstyle.errors import DepthStyleError
from depthstyle.io import load_image, save_image
from depthstyle.models import StyleModel, load_model
from depthstyle.ops import adain, calc_mean_std
from depthstyle.pipeline import StyleSettings, Stylizer, StylizeResult
from depthstyle.strength import strength_from_proximity

__version__ = "0.2.0"

__all__ = [
    "Stylizer",
    "StyleSettings",
    "StylizeResult",
    "StyleModel",
    "load_model",
    "load_image",
    "save_image",
    "adain",
    "calc_mean_std",
    "strength_from_proximity",
    "make_depth_source",
    "ConstantDepth",
    "DepthMapFile",
    "DepthStyleError",
    "__version__",
]
