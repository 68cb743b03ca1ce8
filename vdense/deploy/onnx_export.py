"""ONNX export of a vdense backbone with TorchScript tracing (``torch.onnx.export(..., dynamo=False)``), with
dynamic batch, height and width.

The window index tables, shift masks, padding amounts and MViTv2's resized relative-position tables are built from
the input's size (vdense/models/layers/window.py, relative_position.py). In PyTorch they are cached per size; under
tracing nothing is cached (vdense/models/layers/cache.py), so the graph builds them from the traced sizes and one
file serves every input size. Two things made that work: ceil divisions and paddings written on non-negative ints
(a traced ``-(-H // ws)`` exports as a truncating Div: wrong windows at every padded size), and the trace taken at a
size that needs padding in every stage (:data:`EXPORT_SIZE`): a branch taken on the sizes (is there padding? does
the map exceed one window?) is fixed at export, and the padded branch is the general one.
"""
from typing import Dict, Sequence, Tuple

import torch

DEFAULT_OPSET = 17
# Opset 16: RoiAlign's half_pixel mode (mmcv's aligned=True) and GridSample; the range torch.onnx can write.
MIN_OPSET = 16
try:
    from torch.onnx._constants import ONNX_MAX_OPSET as MAX_OPSET
except ImportError:  # private in torch: its value in torch 2.9-2.14
    MAX_OPSET = 23
# The checks run onnxruntime at full size: attention over a whole map (ScalableViT's SSA, MViTv2's pooled attention)
# is not chunked in the graph as it is in PyTorch, so memory grows with the square of the pixels (the ScalableViT
# demo: +1.2 GB at 1200x1200, +3.4 GB at 1600x1600, ~40 GB at 3000x3000). Check sizes are bounded to this many
# pixels per image (1024x2048, the Cityscapes frame, fits).
MAX_CHECK_PIXELS = 2_200_000
# Traced at a size that needs padding in every stage of every family (stride-32 maps of 11x17, windows of 7/12,
# SSA strides up to 8): the padded branches are the general ones.
EXPORT_SIZE = (333, 517)


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


def export_backbone_onnx(backbone: torch.nn.Module, path: str, trace_size: Tuple[int, int] = EXPORT_SIZE,
                         batch: int = 2, opset: int = DEFAULT_OPSET) -> Tuple[str, ...]:
    """Writes ``backbone`` (eval mode) to ``path``: input ``input`` (N, 3, H, W), outputs ``out{i}`` (N, C_i, H_i,
    W_i) for each of its ``out_indices``, N, H and W dynamic. Returns the output names."""
    _require('onnx')
    backbone = backbone.eval()
    names = tuple(f'out{i}' for i in backbone.out_indices)
    x = torch.randn(batch, 3, *trace_size)
    import warnings
    dynamic = {'input': {0: 'batch', 2: 'height', 3: 'width'},
               **{n: {0: 'batch', 2: f'{n}_height', 3: f'{n}_width'} for n in names}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')  # TracerWarnings about the size branches: see the module doc
        torch.onnx.export(_Outputs(backbone), (x,), path, dynamo=False, opset_version=opset,
                          input_names=['input'], output_names=list(names), dynamic_axes=dynamic)
    import onnx
    onnx.checker.check_model(onnx.load(path))
    return names


def check_opset(opset: int) -> None:
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(f'--opset {opset}: supported opsets are {MIN_OPSET} to {MAX_OPSET} ({MIN_OPSET}: RoiAlign '
                         'half_pixel, GridSample)')


def check_sizes(sizes: Sequence[Tuple[int, int]]) -> None:
    for h, w in sizes:
        if h < 32 or w < 32:
            raise ValueError(f'--check-size {h} {w}: each side must be at least 32 pixels')
        if h * w > MAX_CHECK_PIXELS:
            raise ValueError(f'--check-size {h} {w}: above {MAX_CHECK_PIXELS:,} pixels, the bound on check sizes '
                             '(onnxruntime runs whole-map attention unchunked: memory grows with the square of the '
                             'pixels); check at a smaller size, the graph is the same at every size')


def ort_session(path: str):
    """A CPU onnxruntime session that returns its memory after each run (no arena: checks at several sizes do not
    keep the largest one's buffers)."""
    ort = _require('onnxruntime')
    options = ort.SessionOptions()
    options.enable_cpu_mem_arena = False
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


def write_metadata(path: str, props: Dict[str, str]) -> None:
    """Adds ``props`` to the ONNX file's ``metadata_props`` (what ``session.get_modelmeta().custom_metadata_map``
    returns)."""
    onnx = _require('onnx')
    model = onnx.load(path)
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, path)


def export_graph(graph: torch.nn.Module, path: str, trace_size: Tuple[int, int] = EXPORT_SIZE, batch: int = 2,
                 opset: int = DEFAULT_OPSET) -> Tuple[str, ...]:
    """Writes a complete-model graph (vdense/deploy/graphs.py: input ``image``, outputs ``graph.output_names``) with
    dynamic batch, height and width. Traced on a copy whose size-fixing modules are replaced
    (vdense/deploy/traceable.py)."""
    _require('onnx')
    import copy
    import warnings

    from .traceable import make_traceable
    traced = copy.deepcopy(graph).eval()
    make_traceable(traced)
    x = torch.rand(batch, 3, *trace_size, generator=torch.Generator().manual_seed(0)) * 255
    dynamic = {'image': {0: 'batch', 2: 'height', 3: 'width'}, **graph.dynamic_axes}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')  # TracerWarnings about the size branches: see the module doc
        torch.onnx.export(traced, (x,), path, dynamo=False, opset_version=opset, input_names=['image'],
                          output_names=list(graph.output_names), dynamic_axes=dynamic)
    import onnx
    onnx.checker.check_model(onnx.load(path))
    return tuple(graph.output_names)


def max_relative_errors(backbone: torch.nn.Module, path: str, shapes: Sequence[Tuple[int, int, int]],
                        seed: int = 0) -> Dict[Tuple[int, int, int], float]:
    """For each (batch, height, width): max over outputs of max|onnx - torch| / max|torch| on a random input."""
    session = ort_session(path)
    gen = torch.Generator().manual_seed(seed)
    errors = {}
    backbone = backbone.eval()
    for b, h, w in shapes:
        x = torch.randn(b, 3, h, w, generator=gen)
        with torch.inference_mode():
            ref = backbone(x)
        out = session.run(None, {'input': x.numpy()})
        errors[(b, h, w)] = max(float((torch.from_numpy(o) - r).abs().max() / r.abs().max().clamp_min(1e-12))
                                for o, r in zip(out, ref))
    return errors
