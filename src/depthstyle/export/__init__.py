"""Export to ONNX and run the exported graphs with onnxruntime (the ``onnx`` extra)."""

from depthstyle.export.onnx_export import export_onnx
from depthstyle.export.onnx_runtime import OnnxStylizer, load_manifest

__all__ = ["export_onnx", "OnnxStylizer", "load_manifest"]
