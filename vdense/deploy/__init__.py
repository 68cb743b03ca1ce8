"""Deployment: ONNX export of the complete models (classifiers, segmentors, RetinaNet, Mask R-CNN, Cascade Mask
R-CNN) and of the backbones, checked against PyTorch with onnxruntime (graphs.py, detection.py, two_stage.py,
roi_align.py, nms.py, traceable.py, preprocess.py, check.py, onnx_export.py); run without torch by runtime.py."""
from .onnx_export import (
    EXPORT_SIZE,
    MAX_CHECK_PIXELS,
    MIN_OPSET,
    OnnxUnavailableError,
    export_backbone_onnx,
    export_graph,
    max_relative_errors,
)

__all__ = ['EXPORT_SIZE', 'MAX_CHECK_PIXELS', 'MIN_OPSET', 'OnnxUnavailableError', 'export_backbone_onnx',
           'export_graph', 'max_relative_errors']
