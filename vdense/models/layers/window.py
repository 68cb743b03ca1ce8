"""Non-overlapping window attention plumbing shared by Swin (W-MSA/SW-MSA), ScalableViT (IWSA) and MViT (Hwin).

Padding to window multiples, the cyclic shift and the window partition are one gather with a cached index
(and the way back one more), instead of pad + roll + reshape/permute copies. Everything works on channels-last
maps (B, H, W, C) and on the whole batch.
"""
from typing import NamedTuple, Optional

import torch

from .cache import cpu_cached


class WindowGrid(NamedTuple):
    """How a (H, W) map is cut into ``window_size`` windows after zero padding and a cyclic shift."""
    index: torch.Tensor                  # (num_windows * N,) map position (h * W + w) of each window token
    inverse: torch.Tensor                # (H * W,) window-token position of each map position
    pad_positions: Optional[torch.Tensor]  # window tokens that are zero padding, or None
    key_mask: Optional[torch.Tensor]     # (num_windows, 1, 1, N) bool, True for real tokens, or None
    num_windows: int
    padded_hw: tuple


@cpu_cached(maxsize=64)
def window_grid(H: int, W: int, window_size: int, shift: int = 0,
                device: torch.device = torch.device('cpu')) -> WindowGrid:
    """The cached index tables for one map size; the padding is at the bottom/right and the shift is applied
    to the padded map (``torch.roll(x, (-shift, -shift))``), exactly as the Swin reference code does."""
    ws = window_size
    # Ceil division on non-negative ints only: traced for ONNX, -(-H // ws) becomes a truncating Div (wrong).
    Hp, Wp = (H + ws - 1) // ws * ws, (W + ws - 1) // ws * ws
    rows = (torch.arange(Hp) + shift) % Hp
    cols = (torch.arange(Wp) + shift) % Wp
    valid = (rows[:, None] < H) & (cols[None, :] < W)
    src = torch.where(valid, rows[:, None] * W + cols[None, :], 0)

    def partition(t):
        return t.view(Hp // ws, ws, Wp // ws, ws).permute(0, 2, 1, 3).reshape(-1)

    src, valid = partition(src), partition(valid)
    inverse = torch.empty(H * W, dtype=torch.long)
    inverse[src[valid]] = torch.arange(src.numel())[valid]
    num_windows = (Hp // ws) * (Wp // ws)
    padded = not bool(valid.all())
    pad_positions = (~valid).nonzero().squeeze(1).to(device) if padded else None
    key_mask = valid.view(num_windows, 1, 1, ws * ws).to(device) if padded else None
    return WindowGrid(src.to(device), inverse.to(device), pad_positions, key_mask, num_windows, (Hp, Wp))


def map_to_windows(x: torch.Tensor, grid: WindowGrid) -> torch.Tensor:
    """(B, H, W, C) -> (B, num_windows, N, C): padded (zeros), shifted and partitioned in one gather."""
    B, H, W, C = x.shape
    windows = x.reshape(B, H * W, C).index_select(1, grid.index)
    if grid.pad_positions is not None:
        windows.index_fill_(1, grid.pad_positions, 0.)  # a fresh tensor: filling in place is safe
    return windows.view(B, grid.num_windows, -1, C)


def windows_to_map(windows: torch.Tensor, grid: WindowGrid, H: int, W: int) -> torch.Tensor:
    """Inverse of :func:`map_to_windows`: (B, num_windows, N, C) -> (B, H, W, C), padding dropped."""
    B, C = windows.shape[0], windows.shape[-1]
    return windows.reshape(B, -1, C).index_select(1, grid.inverse).view(B, H, W, C)


def expand_window_mask(mask: torch.Tensor, batch: int) -> torch.Tensor:
    """A per-window (num_windows, ...) mask tiled over the batch to (batch * num_windows, ...).

    SDPA's fused CPU kernel takes only 4-D masks whose leading dim is 1 or the full batch; a 5-D layout that would
    broadcast for free falls back to the slow math path (measured 3.7x slower), so the tiling copy is cheaper.
    """
    return mask if batch == 1 else mask.repeat(batch, *([1] * (mask.dim() - 1)))


@cpu_cached(maxsize=32)
def shifted_window_mask(H: int, W: int, window_size: int, shift: int,
                        device: torch.device = torch.device('cpu'), batch: Optional[int] = None) -> torch.Tensor:
    """Swin's additive shift mask for an (H, W) map: (num_windows, N, N), 0 within a region, -100 across regions
    (the reference value); built once per size and cached. With ``batch``: tiled for SDPA to
    (batch * num_windows, 1, N, N), ready to broadcast against a (1, heads, N, N) bias."""
    if batch is not None:
        mask = shifted_window_mask(H, W, window_size=window_size, shift=shift, device=device)
        return expand_window_mask(mask.unsqueeze(1), batch)
    grid = window_grid(H, W, window_size=window_size, shift=shift)
    Hp, Wp = grid.padded_hw

    def regions(n):  # 0 before the last window, 1 in it, 2 in the wrapped-around border (comparisons: traceable)
        pos = torch.arange(n)
        return (pos >= n - window_size).long() + (pos >= n - shift).long()

    # The labels are in the coordinates of the shifted map (the wrapped-around border is its own region).
    labels = regions(Hp)[:, None] * 3 + regions(Wp)[None, :]
    windows = labels.view(Hp // window_size, window_size, Wp // window_size, window_size)
    windows = windows.permute(0, 2, 1, 3).reshape(grid.num_windows, -1)
    diff = windows[:, None, :] - windows[:, :, None]
    return torch.zeros_like(diff).masked_fill(diff != 0, -100.0).to(device)
