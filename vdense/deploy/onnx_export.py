"""ONNX export of a vdense backbone with TorchScript tracing (``torch.onnx.export(..., dynamo=False)``).

What the export covers today: a dynamic **batch** axis at a fixed input height and width (the export size). The
backbones' padding, window index tables, shift masks and MViT's resized relative-position tables are computed
per input size in Python and cached (vdense/models/layers/window.py, cache.py, decomposed_rel_pos.py); a trace
records them as constants of the export size, so an ONNX graph with dynamic height/width would run at other
sizes and give wrong numbers (measured: 2-5 % relative error at 256x320 for a Swin exported at 224). vdense
therefore fixes H and W in the graph (onnxruntime refuses other sizes) instead of exporting a wrong dynamic
one. Export once per deployment size.
"""
from typing import Dict, Sequence, Tuple

import torch

DEFAULT_OPSET = 17


class OnnxUnavailableError(RuntimeError):
    """onnx / onnxruntime are not installed (pip install -r requirements/export.txt)."""


def _require(module: str):
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        raise OnnxUnavailableError(f'{module} is not installed: pip install -r requirements/export.txt '
                                   '(onnx, onnxruntime)') from None


class _Outputs(torch.nn.Module):
    """The backbone's tuple of maps as the graph's outputs (one name per stage)."""

    def __init__(self, backbone: torch.nn.Module):
        super().__init__()
        self.backbone = backbone

    def forward(self, x):
        return tuple(self.backbone(x))


def export_backbone_onnx(backbone: torch.nn.Module, path: str, height: int, width: int, batch: int = 2,
                         opset: int = DEFAULT_OPSET) -> Tuple[str, ...]:
    """Writes ``backbone`` (eval mode) to ``path``: input ``input`` (N, 3, height, width) with N dynamic, outputs
    ``out{i}`` for each of its ``out_indices``. Returns the output names."""
    _require('onnx')
    backbone = backbone.eval()
    names = tuple(f'out{i}' for i in backbone.out_indices)
    x = torch.randn(batch, 3, height, width)
    import warnings
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')  # TracerWarnings about Python ints from shapes: the H, W are fixed
        torch.onnx.export(_Outputs(backbone), (x,), path, dynamo=False, opset_version=opset,
                          input_names=['input'], output_names=list(names),
                          dynamic_axes={'input': {0: 'batch'}, **{n: {0: 'batch'} for n in names}})
    import onnx
    onnx.checker.check_model(onnx.load(path))
    return names


def max_relative_errors(backbone: torch.nn.Module, path: str, shapes: Sequence[Tuple[int, int, int]],
                        seed: int = 0) -> Dict[Tuple[int, int, int], float]:
    """For each (batch, height, width): max over outputs of max|onnx - torch| / max|torch| on a random input."""
    ort = _require('onnxruntime')
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    gen = torch.Generator().manual_seed(seed)
    errors = {}
    backbone = backbone.eval()
    for b, h, w in shapes:
        x = torch.randn(b, 3, h, w, generator=gen)
        with torch.no_grad():
            ref = backbone(x)
        out = session.run(None, {'input': x.numpy()})
        errors[(b, h, w)] = max(float((torch.from_numpy(o) - r).abs().max() / r.abs().max().clamp_min(1e-12))
                                for o, r in zip(out, ref))
    return errors
