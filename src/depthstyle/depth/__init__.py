"""Sources of proximity maps.

Every source is a callable ``source(image) -> proximity``: image (B, 3, H, W) RGB in [0, 1],
proximity (B, 1, H, W) in [0, 1] with 1 = nearest. Three kinds exist:

* :class:`ConstantDepth` - no depth information (uniform strength = plain AdaIN with alpha);
* :class:`DepthMapFile` - a user map (PNG 8/16-bit, .npy, .pfm, TIFF) of depth or disparity,
  resized to the image;
* :class:`~depthstyle.depth.transformers_backend.TransformersDepth` - a monocular depth model
  (Depth Anything V2 Small by default), loaded only from local files.

* :class:`AutoDepth` - the default: per photo, a map beside it, else the model (found on disk
  or downloaded on first use, :mod:`depthstyle.depth.download`), else uniform with a warning.

:func:`make_depth_source` builds one from the CLI's ``--depth none|auto|FILE``;
:func:`origin_of` says which source gave a photo's depth.
"""

from depthstyle.depth.catalog import DEFAULT_DEPTH_MODEL, DEPTH_MODELS
from depthstyle.depth.maps import normalize_proximity, proximity_from_values
from depthstyle.depth.resolve import (
    AutoDepth,
    DepthOrigin,
    make_depth_source,
    map_beside,
    origin_of,
)
from depthstyle.depth.sources import (
    MAP_SUFFIXES,
    ConstantDepth,
    DepthMapFile,
    DepthSource,
    find_depth_file,
    kind_from_name,
)
from depthstyle.depth.transformers_backend import (
    TransformersDepth,
    differentiable_depth_model,
    load_transformers_depth,
)

__all__ = [
    "DepthSource",
    "ConstantDepth",
    "DepthMapFile",
    "TransformersDepth",
    "DEFAULT_DEPTH_MODEL",
    "DEPTH_MODELS",
    "MAP_SUFFIXES",
    "make_depth_source",
    "load_transformers_depth",
    "differentiable_depth_model",
    "proximity_from_values",
    "normalize_proximity",
    "find_depth_file",
    "kind_from_name",
    "AutoDepth",
    "DepthOrigin",
    "origin_of",
    "map_beside",
]
