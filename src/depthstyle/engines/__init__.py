"""Engines: the network backends the pipeline drives (PyTorch, onnxruntime)."""

from depthstyle.engines.base import Engine, RenderJob, Stats, StrengthMaps, level_style_stats
from depthstyle.engines.torch_engine import TorchEngine, select_device

__all__ = ["Engine", "RenderJob", "Stats", "StrengthMaps", "TorchEngine", "level_style_stats",
           "select_device"]
