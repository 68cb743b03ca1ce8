"""The module served as ``mmcv._ext`` where mmcv's compiled ops are not installed (see vdense/ops/__init__.py).

Each function has the name and signature mmcv 2.1.0's Python wrappers call (mmcv/ops/nms.py, roi_align.py,
focal_loss.py, info.py) and follows the compiled kernel's conventions: results written in place into the
tensors the wrapper allocated, ``offset`` in nms, ``pool_mode`` 1 = avg in RoIAlign, ``weight[target]`` in the
focal loss. Any other name resolves to a callable that raises :class:`MissingKernelError`.

No relative imports: the startup hook (site_hook.py) loads this file without importing the ``vdense`` package.
"""
import sys

import torch

COMPILED_OPS_HINT = "install mmcv's compiled ops: make install MMCV_OPS=compiled"


class MissingKernelError(RuntimeError):
    """An mmcv op was called that has no torch/torchvision kernel in vdense and mmcv's compiled ops are absent."""


_FLT_MIN = 1.1754943508222875e-38  # FLT_MIN, the clamp inside mmcv's focal-loss kernels


def _torchvision_ops():
    import torchvision  # noqa: F401  (registers torch.ops.torchvision.*)
    return torch.ops.torchvision


def _missing(name: str, detail: str = '') -> MissingKernelError:
    return MissingKernelError(f"mmcv op '{name}'{detail} has no torch/torchvision kernel in vdense; "
                              f'{COMPILED_OPS_HINT}')


def missing_kernel(name: str):
    """Module ``__getattr__``: every op name not defined here is importable and fails only when called."""
    if name.startswith('_'):
        raise AttributeError(name)

    def kernel_missing(*args, **kwargs):
        caller = sys._getframe(1).f_globals.get('__name__', '')
        where = f' (called from {caller})' if caller.startswith('mmcv.') else ''
        raise _missing(name, where)

    kernel_missing.__name__ = kernel_missing.__qualname__ = name
    return kernel_missing


# ---------------------------------------------------------------------------------------------------- info

def get_compiler_version() -> str:
    return 'none (vdense: torch/torchvision kernels)'


def get_compiling_cuda_version() -> str:
    return 'not available'


# ---------------------------------------------------------------------------------------------------- nms

def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float, offset: int = 0) -> torch.Tensor:
    """Kept indices, by descending score, as mmcv's ``nms_impl``: a box is dropped when its IoU with a kept,
    higher-scoring box is > ``iou_threshold``; widths/heights are ``x2 - x1 + offset`` (offset 0 or 1)."""
    if boxes.numel() == 0:
        return boxes.new_empty((0,), dtype=torch.long)
    if boxes.dtype not in (torch.float32, torch.float64) or scores.dtype != boxes.dtype:
        boxes, scores = boxes.float(), scores.float()
    if offset:
        # x2 - x1 + 1 == (x2 + 1) - x1: torchvision's kernel (offset 0) on boxes grown by one at the far corner.
        boxes = torch.cat([boxes[:, :2], boxes[:, 2:4] + offset], dim=1)
    # mmcv orders by scores.sort(0, descending=True), an unstable sort; torchvision sorts stably. Sorting here
    # with mmcv's call hands torchvision scores already in mmcv's order (tied scores included), which its stable
    # sort keeps: the same boxes are kept, in the same order.
    order = scores.sort(0, descending=True)[1]
    keep = _torchvision_ops().nms(boxes[order].contiguous(), scores[order].contiguous(), float(iou_threshold))
    return order[keep]


# ------------------------------------------------------------------------------------------------ RoIAlign

def _roi_align_dtype(t: torch.Tensor) -> torch.dtype:
    # torchvision's roi_align kernels take float32/64 and float16; bfloat16 is computed in float32.
    return torch.float32 if t.dtype == torch.bfloat16 else t.dtype


def roi_align_forward(input, rois, output, argmax_y, argmax_x, aligned_height=7, aligned_width=7,
                      spatial_scale=1.0, sampling_ratio=0, pool_mode=1, aligned=True) -> None:
    """Writes RoIAlign of ``input`` over ``rois`` (K, 5: batch index, x1, y1, x2, y2) into ``output``."""
    if pool_mode != 1:
        raise _missing('roi_align_forward', " with pool_mode='max'")
    if rois.size(0) == 0:
        return
    dtype = _roi_align_dtype(input)
    out = _torchvision_ops().roi_align(input.to(dtype).contiguous(), rois.to(dtype).contiguous(),
                                       float(spatial_scale), int(aligned_height), int(aligned_width),
                                       int(sampling_ratio), bool(aligned))
    output.copy_(out)


def roi_align_backward(grad_output, rois, argmax_y, argmax_x, grad_input, aligned_height=7, aligned_width=7,
                       spatial_scale=1.0, sampling_ratio=0, pool_mode=1, aligned=True) -> None:
    """Adds the gradient of RoIAlign (avg) w.r.t. its input to ``grad_input``."""
    if pool_mode != 1:
        raise _missing('roi_align_backward', " with pool_mode='max'")
    if rois.size(0) == 0:
        return
    batch, channels, height, width = grad_input.shape
    dtype = _roi_align_dtype(grad_output)
    grad = _torchvision_ops()._roi_align_backward(
        grad_output.to(dtype).contiguous(), rois.to(dtype).contiguous(), float(spatial_scale),
        int(aligned_height), int(aligned_width), batch, channels, height, width, int(sampling_ratio), bool(aligned))
    grad_input.add_(grad.to(grad_input.dtype))


# ------------------------------------------------------------------------------------- sigmoid focal loss

def _focal_terms(input, target, weight, gamma, alpha, backward: bool):
    """mmcv's sigmoid focal-loss CUDA kernel (common/cuda/sigmoid_focal_loss_cuda_kernel.cuh), elementwise in
    torch: float32 math for float32/float16/bfloat16 inputs (the result is rounded once to the input's dtype),
    float64 for float64. ``target == num_classes`` (background) is negative for every class."""
    x = input.to(torch.float64 if input.dtype == torch.float64 else torch.float32)
    num_classes = x.size(1)
    classes = torch.arange(num_classes, device=x.device)
    flag_p = (target.view(-1, 1) == classes).to(x.dtype)
    flag_n = 1 - flag_p
    if backward:
        p = 1 / (1 + torch.exp(-x))
    else:  # the forward kernel uses expf (single precision) for every dtype
        p = (1 / (1 + torch.exp(-x.float()))).to(x.dtype)
    log_p = torch.log(torch.clamp(p, min=_FLT_MIN))
    log_1mp = torch.log(torch.clamp(1 - p, min=_FLT_MIN))
    if backward:
        term_p = torch.pow(1 - p, gamma) * (1 - p - gamma * p * log_p)
        term_n = torch.pow(p, gamma) * (gamma * (1 - p) * log_1mp - p)
    else:
        term_p = torch.pow(1 - p, gamma) * log_p
        term_n = torch.pow(p, gamma) * log_1mp
    out = -flag_p * alpha * term_p - flag_n * (1 - alpha) * term_n
    if weight is not None and weight.numel() > 0:
        # The kernel scales row n by weight[target[n]]; for a background row that index is one past the end of
        # ``weight`` (an out-of-bounds read in mmcv): vdense leaves those rows unscaled.
        t = target.clamp(max=num_classes - 1)
        row_w = weight.to(x.dtype)[t]
        row_w = torch.where(target < num_classes, row_w, torch.ones_like(row_w))
        out = out * row_w.view(-1, 1)
    return out


def sigmoid_focal_loss_forward(input, target, weight, output, gamma=2.0, alpha=0.25) -> None:
    """Writes the unreduced sigmoid focal loss (N, C) into ``output``."""
    if input.numel() == 0:
        return
    output.copy_(_focal_terms(input, target, weight, float(gamma), float(alpha), backward=False))


def sigmoid_focal_loss_backward(input, target, weight, grad_input, gamma=2.0, alpha=0.25) -> None:
    """Writes d loss / d input (N, C) into ``grad_input`` (the wrapper scales it by grad_output)."""
    if input.numel() == 0:
        return
    grad_input.copy_(_focal_terms(input, target, weight, float(gamma), float(alpha), backward=True))


__all__ = ['get_compiler_version', 'get_compiling_cuda_version', 'nms', 'roi_align_forward', 'roi_align_backward',
           'sigmoid_focal_loss_forward', 'sigmoid_focal_loss_backward']
