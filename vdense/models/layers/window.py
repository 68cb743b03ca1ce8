"""Non-overlapping window helpers shared by every windowed attention (Swin W-MSA, ScalableViT IWSA, MViT Hwin).

Everything works on channels-last maps (B, H, W, C) and on the whole batch with reshapes/permutes only.
"""
from functools import lru_cache
from typing import Optional, Tuple

import torch
import torch.nn.functional as F


def pad_to_window(x: torch.Tensor, window_size: int) -> Tuple[torch.Tensor, int, int]:
    """Zero-pads a (B, H, W, C) map at the bottom/right to multiples of ``window_size``.

    Returns the padded map and the padding added along H and W (0, 0 means ``x`` is returned as is).
    """
    _, H, W, _ = x.shape
    pad_h = (window_size - H % window_size) % window_size
    pad_w = (window_size - W % window_size) % window_size
    if pad_h or pad_w:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    return x, pad_h, pad_w


def window_partition(x: torch.Tensor, window_size: int) -> torch.Tensor:
    """(B, H, W, C) with H, W multiples of ``window_size`` -> (B * num_windows, window_size**2, C)."""
    B, H, W, C = x.shape
    x = x.view(B, H // window_size, window_size, W // window_size, window_size, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window_size * window_size, C)


def window_reverse(windows: torch.Tensor, window_size: int, H: int, W: int) -> torch.Tensor:
    """Inverse of :func:`window_partition`: (B * num_windows, window_size**2, C) -> (B, H, W, C)."""
    C = windows.shape[-1]
    x = windows.view(-1, H // window_size, W // window_size, window_size, window_size, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, H, W, C)


@lru_cache(maxsize=32)
def _padding_key_mask(H: int, W: int, window_size: int, device: torch.device) -> Optional[torch.Tensor]:
    pad_h = (window_size - H % window_size) % window_size
    pad_w = (window_size - W % window_size) % window_size
    if not (pad_h or pad_w):
        return None
    valid = torch.zeros(1, H + pad_h, W + pad_w, 1, dtype=torch.bool, device=device)
    valid[:, :H, :W] = True
    # (num_windows, 1, 1, window_size**2): broadcast over heads and query positions.
    return window_partition(valid, window_size).reshape(-1, 1, 1, window_size * window_size)


def padding_key_mask(batch: int, H: int, W: int, window_size: int,
                     device: torch.device) -> Optional[torch.Tensor]:
    """Boolean ``attn_mask`` (True = attend) that hides zero-padded keys from window attention.

    Shape (batch * num_windows, 1, 1, window_size**2), or None when (H, W) needs no padding. The per-size
    table is built once and cached; only the cheap batch expansion happens per call.
    """
    mask = _padding_key_mask(H, W, window_size, torch.device(device))
    if mask is None:
        return None
    return mask.expand(batch, *mask.shape).reshape(-1, *mask.shape[1:])


@lru_cache(maxsize=32)
def shifted_window_mask(H: int, W: int, window_size: int, shift: int, device: torch.device) -> torch.Tensor:
    """Swin's additive shift mask for a padded (H, W) map: (num_windows, ws*ws, ws*ws), 0 within a region and
    -100 across regions (the reference value), built once per size and cached."""
    img = torch.zeros(1, H, W, 1, device=device)
    bounds = (slice(0, -window_size), slice(-window_size, -shift), slice(-shift, None))
    region = 0
    for hs in bounds:
        for ws in bounds:
            img[:, hs, ws] = region
            region += 1
    windows = window_partition(img, window_size).squeeze(-1)
    diff = windows[:, None, :] - windows[:, :, None]
    return torch.zeros_like(diff).masked_fill(diff != 0, -100.0)
