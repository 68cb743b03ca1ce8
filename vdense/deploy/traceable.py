"""Library modules whose output size is fixed at the traced size, replaced (on the copy that is traced) by modules
computing the same numbers from the input's size in standard ONNX ops.

- ``nn.AdaptiveAvgPool2d(s)`` (UperNet's PPM, s = 1, 2, 3, 6): torch.onnx exports it for s > 1 only as a fixed
  AvgPool computed from the traced size (mmdeploy exports UperNet at a static shape for that reason). Here each
  output bin is a row of an averaging matrix built from the input's size (bin i covers [floor(i * H / s),
  ceil((i + 1) * H / s)), PyTorch's bins), and the pooling is two MatMuls: the same numbers as PyTorch up to float
  summation order, at any input size.
- mmseg's ``Upsample(scale_factor=2)`` (Semantic FPN's scale heads) computes its size with ``int(t * factor)``:
  under tracing a constant, so the maps keep the trace size's shape (73-85 % of the pixels right at other sizes).
"""
import torch
import torch.nn.functional as F
from torch import nn


def _bin_matrix(n, s: int, dtype) -> torch.Tensor:
    """(s, n): row i averages the positions of bin i. ``n`` may be a traced size; all operands non-negative."""
    i = torch.arange(s).unsqueeze(1)
    start = i * n // s
    end = ((i + 1) * n + s - 1) // s
    pos = torch.arange(n).unsqueeze(0)
    inside = ((pos >= start) & (pos < end)).to(dtype)
    return inside / inside.sum(1, keepdim=True)


class MatmulAdaptiveAvgPool2d(nn.Module):
    def __init__(self, output_size):
        super().__init__()
        size = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
        self.output_size = tuple(int(v) for v in size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        H, W = x.shape[-2:]
        rows = _bin_matrix(H, self.output_size[0], x.dtype)
        cols = _bin_matrix(W, self.output_size[1], x.dtype)
        return torch.matmul(torch.matmul(rows, x), cols.transpose(0, 1))


class TraceableUpsample(nn.Module):
    """mmseg's ``Upsample`` by an integer factor, its size computed in the graph (``t * factor`` on the traced
    size: the same size as ``int(t * factor)``, so the same numbers)."""

    def __init__(self, factor: int, mode: str, align_corners):
        super().__init__()
        self.factor, self.mode, self.align_corners = factor, mode, align_corners

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        H, W = x.shape[-2:]
        return F.interpolate(x, size=(H * self.factor, W * self.factor), mode=self.mode,
                             align_corners=self.align_corners)


def _replacement(child: nn.Module):
    if isinstance(child, nn.AdaptiveAvgPool2d):
        size = child.output_size
        sides = size if isinstance(size, (tuple, list)) else (size,)
        if None not in sides and any(s != 1 for s in sides):  # global pooling exports as GlobalAveragePool
            return MatmulAdaptiveAvgPool2d(size)
    if type(child).__name__ == 'Upsample' and type(child).__module__.startswith('mmseg') and not child.size:
        factor = child.scale_factor
        if isinstance(factor, float) and factor.is_integer():
            return TraceableUpsample(int(factor), child.mode, child.align_corners)
    return None


def make_traceable(module: nn.Module) -> int:
    """Swaps, in place, the modules above for their size-independent versions. Returns how many were swapped."""
    count = 0
    for name, child in list(module.named_children()):
        new = _replacement(child)
        if new is not None:
            setattr(module, name, new)
            count += 1
        else:
            count += make_traceable(child)
    return count
