"""Relative positions, one vocabulary for both kinds:

- Swin's bias table: one learned bias per head and 2-D offset inside a window (``relative_position_index`` looks
  it up, ``resize_relative_position_bias_table`` fits a table to another window size).
- MViTv2's decomposed relative positions (ViTDet's too): one table per axis, looked up by the query's own features;
  the term added to the attention logits is ``q . R_h[qh - kh] + q . R_w[qw - kw]``
  (``decomposed_relative_position_bias``). When the query and key grids differ (pooled keys), distances are
  measured on the finer grid, and tables built for another size are resized linearly
  (``resize_relative_position_table``), as detectron2's ``get_rel_pos`` and mmpretrain's
  ``resize_decomposed_rel_pos`` do.
"""
from typing import Tuple

import torch
import torch.nn.functional as F

from .cache import cpu_cached


@cpu_cached(maxsize=16)
def relative_position_index(window_size: int) -> torch.Tensor:
    """(N, N) index (N = window_size**2) into a ((2 * window_size - 1)**2, heads) bias table, as in the Swin
    reference code."""
    coords = torch.stack(torch.meshgrid(torch.arange(window_size), torch.arange(window_size), indexing='ij'))
    coords = coords.flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window_size - 1)
    return rel[..., 0] * (2 * window_size - 1) + rel[..., 1]


def resize_relative_position_bias_table(table: torch.Tensor, window_size: int) -> torch.Tensor:
    """Bicubic resize of a ((2W-1)**2, heads) table to ((2 * window_size - 1)**2, heads), for a checkpoint of
    another window size."""
    old = int(round(table.shape[0] ** 0.5))
    new = 2 * window_size - 1
    if old == new:
        return table
    grid = table.T.reshape(1, -1, old, old).float()
    grid = F.interpolate(grid, size=(new, new), mode='bicubic', align_corners=False)
    return grid.reshape(-1, new * new).T.to(table.dtype)


def resize_relative_position_table(table: torch.Tensor, length: int) -> torch.Tensor:
    """Linear resize of a per-axis (L, C) table to (length, C); the table itself when it already has that length."""
    if table.shape[0] == length:
        return table
    return F.interpolate(table.T.unsqueeze(0), size=length, mode='linear').squeeze(0).T


@cpu_cached(maxsize=128)
def _relative_position_axis_index(q_size: int, k_size: int, device: torch.device) -> torch.Tensor:
    # Same float32 arithmetic and truncation as the references, so odd sizes pick the same table rows.
    q_ratio, k_ratio = max(k_size / q_size, 1.0), max(q_size / k_size, 1.0)
    coords = torch.arange(q_size)[:, None] * q_ratio - torch.arange(k_size)[None, :] * k_ratio
    return (coords + (k_size - 1) * k_ratio).long().to(device)


def relative_position_embeddings(table: torch.Tensor, q_size: int, k_size: int) -> torch.Tensor:
    """(q_size, k_size, C) embeddings of the query-key distances along one axis."""
    table = resize_relative_position_table(table, 2 * max(q_size, k_size) - 1)
    return table[_relative_position_axis_index(q_size, k_size, table.device)]


def decomposed_relative_position_bias(q: torch.Tensor, q_hw: Tuple[int, int], k_hw: Tuple[int, int],
                                      rel_pos_h: torch.Tensor, rel_pos_w: torch.Tensor) -> torch.Tensor:
    """The rel-pos logits term for ``q`` of shape (B, heads, qh * qw, C): (B, heads, qh * qw, kh * kw).

    Built as one broadcast sum of the two per-axis terms, ready to be passed to SDPA as ``attn_mask``.
    """
    B, nh, _, C = q.shape
    (qh, qw), (kh, kw) = q_hw, k_hw
    r_q = q.reshape(B, nh, qh, qw, C)
    # einsum hands back permuted layouts; the big sum takes its first operand's, so making that small one dense
    # makes the sum dense and the final reshape free.
    rel_h = torch.einsum('bnhwc,hkc->bnhwk', r_q, relative_position_embeddings(rel_pos_h, qh, kh)).contiguous()
    rel_w = torch.einsum('bnhwc,wkc->bnhwk', r_q, relative_position_embeddings(rel_pos_w, qw, kw))
    return (rel_h.unsqueeze(-1) + rel_w.unsqueeze(-2)).reshape(B, nh, qh * qw, kh * kw)
