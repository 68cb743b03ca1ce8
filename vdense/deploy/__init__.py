"""Deployment helpers: ONNX export of the backbones (and its check against PyTorch with onnxruntime)."""
from .onnx_export import EXPORT_SIZE, OnnxUnavailableError, export_backbone_onnx, max_relative_errors

__all__ = ['EXPORT_SIZE', 'OnnxUnavailableError', 'export_backbone_onnx', 'max_relative_errors']
