"""Attention through ``F.scaled_dot_product_attention`` when queries/keys and values have different head widths.

PyTorch's fused kernels (flash on CPU and GPU, memory-efficient on GPU) need one head width for q, k and v; with
different widths SDPA silently falls back to its unfused math path (materialised logits, separate softmax), which
measured 2.7 s of ScalableViT-S's 4.2 s forward at 800x1216 on CPU. Zero-padding the narrower side keeps the fused
kernels: zero channels in q and k add nothing to q.k, zero channels in v give zero outputs that are sliced off.
"""
import torch
import torch.nn.functional as F


def sdpa_mixed_head_dims(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float,
                         dropout_p: float = 0.) -> torch.Tensor:
    """``F.scaled_dot_product_attention(q, k, v, scale=scale)`` for q/k of width Dqk and v of width Dv.

    ``scale`` is required: SDPA's default 1/sqrt(width) would see the padded width."""
    d_qk, d_v = q.shape[-1], v.shape[-1]
    if d_qk < d_v:
        pad = (0, d_v - d_qk)
        q, k = F.pad(q, pad), F.pad(k, pad)
    elif d_v < d_qk:
        v = F.pad(v, (0, d_qk - d_v))
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, scale=scale)
    return out[..., :d_v] if d_v < d_qk else out
