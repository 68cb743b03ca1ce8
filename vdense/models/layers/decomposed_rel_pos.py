"""Decomposed relative positions (MViTv2, ViTDet): one table per axis, looked up by the query's own features.

The term added to the attention logits is ``q . R_h[qh - kh] + q . R_w[qw - kw]``; when the query and key grids
differ (pooled keys), distances are measured on the finer grid, and tables built for another size are resized
linearly, as detectron2's ``get_rel_pos`` and mmpretrain's ``resize_decomposed_rel_pos`` do.
"""
from typing import Tuple

import torch
import torch.nn.functional as F

from .cache import cpu_cached


def resize_rel_pos(table: torch.Tensor, length: int) -> torch.Tensor:
    """Linear resize of an (L, C) table to (length, C); the table itself when it already has that length."""
    if table.shape[0] == length:
        return table
    return F.interpolate(table.T.unsqueeze(0), size=length, mode='linear').squeeze(0).T


@cpu_cached(maxsize=128)
def _rel_index(q_size: int, k_size: int, device: torch.device) -> torch.Tensor:
    # Same float32 arithmetic and truncation as the references, so odd sizes pick the same table rows.
    q_ratio, k_ratio = max(k_size / q_size, 1.0), max(q_size / k_size, 1.0)
    coords = torch.arange(q_size)[:, None] * q_ratio - torch.arange(k_size)[None, :] * k_ratio
    return (coords + (k_size - 1) * k_ratio).long().to(device)


def rel_pos_table(table: torch.Tensor, q_size: int, k_size: int) -> torch.Tensor:
    """(q_size, k_size, C) embeddings of the query-key distances along one axis."""
    table = resize_rel_pos(table, 2 * max(q_size, k_size) - 1)
    return table[_rel_index(q_size, k_size, table.device)]


def decomposed_rel_pos(q: torch.Tensor, q_hw: Tuple[int, int], k_hw: Tuple[int, int], rel_pos_h: torch.Tensor,
                       rel_pos_w: torch.Tensor) -> torch.Tensor:
    """The rel-pos logits term for ``q`` of shape (B, heads, qh * qw, C): (B, heads, qh * qw, kh * kw).

    Built as one broadcast sum of the two per-axis terms, ready to be passed to SDPA as ``attn_mask``.
    """
    B, nh, _, C = q.shape
    (qh, qw), (kh, kw) = q_hw, k_hw
    r_q = q.reshape(B, nh, qh, qw, C)
    # einsum hands back permuted layouts; the big sum takes its first operand's, so making that small one dense
    # makes the sum dense and the final reshape free.
    rel_h = torch.einsum('bnhwc,hkc->bnhwk', r_q, rel_pos_table(rel_pos_h, qh, kh)).contiguous()
    rel_w = torch.einsum('bnhwc,wkc->bnhwk', r_q, rel_pos_table(rel_pos_w, qw, kw))
    return (rel_h.unsqueeze(-1) + rel_w.unsqueeze(-2)).reshape(B, nh, qh * qw, kh * kw)
