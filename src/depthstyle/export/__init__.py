"""Export to ONNX (the ``onnx`` extra); the onnxruntime engine is in :mod:`depthstyle.engines`."""

from depthstyle.engines.onnx_engine import OnnxEngine, load_manifest
from depthstyle.export.onnx_export import export_onnx

__all__ = ["export_onnx", "OnnxEngine", "load_manifest"]
