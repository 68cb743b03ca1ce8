"""FLOP counting on mmengine's analysis (fvcore-style: one fused multiply-add counts as one FLOP, as the papers do).

mmengine's analyzer has no handle for ``aten::scaled_dot_product_attention`` (it would be skipped silently), and
every vdense attention goes through it: the two attention matmuls are counted here, q @ k^T and attn @ v.
"""
from typing import Any, List, Sequence

import torch
from torch import nn


def _shape(value) -> List[int]:
    return value.type().sizes()


def sdpa_flop_handle(inputs: List[Any], outputs: List[Any]) -> int:
    """q (..., Nq, D), k (..., Nk, D), v (..., Nk, Dv): Nq*Nk*D for the logits plus Nq*Nk*Dv for the mix."""
    q, k, v = (_shape(x) for x in inputs[:3])
    batch = 1
    for d in q[:-2]:
        batch *= d
    n_q, d_qk, n_k, d_v = q[-2], q[-1], k[-2], v[-1]
    return batch * n_q * n_k * (d_qk + d_v)


def flop_analyzer(model: nn.Module, inputs: Sequence[torch.Tensor]):
    """mmengine's ``FlopAnalyzer`` with attention counted and the per-op warnings of unhandled cheap ops silenced."""
    from mmengine.analysis import FlopAnalyzer
    analyzer = FlopAnalyzer(model, tuple(inputs)).set_op_handle('aten::scaled_dot_product_attention',
                                                                sdpa_flop_handle)
    return analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)


def count_flops(model: nn.Module, inputs: Sequence[torch.Tensor]) -> int:
    """Total FLOPs (multiply-adds) of ``model(*inputs)``, attention matmuls included."""
    with torch.no_grad():
        return int(flop_analyzer(model, inputs).total())


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
