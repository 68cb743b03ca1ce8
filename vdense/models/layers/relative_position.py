"""Relative-position helpers: Swin's bias-table index and resizing tables across window sizes."""

import torch
import torch.nn.functional as F

from .cache import cpu_cached


@cpu_cached(maxsize=16)
def relative_position_index(window_size: int) -> torch.Tensor:
    """(ws*ws, ws*ws) index into a ((2*ws-1)**2, heads) bias table, as in the Swin reference code."""
    coords = torch.stack(torch.meshgrid(torch.arange(window_size), torch.arange(window_size), indexing='ij'))
    coords = coords.flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window_size - 1)
    return rel[..., 0] * (2 * window_size - 1) + rel[..., 1]


def resize_bias_table(table: torch.Tensor, new_window_size: int) -> torch.Tensor:
    """Bicubic resize of a ((2W-1)**2, heads) table to ((2W'-1)**2, heads), for a checkpoint of another window."""
    old = int(round(table.shape[0] ** 0.5))
    new = 2 * new_window_size - 1
    if old == new:
        return table
    grid = table.T.reshape(1, -1, old, old).float()
    grid = F.interpolate(grid, size=(new, new), mode='bicubic', align_corners=False)
    return grid.reshape(-1, new * new).T.to(table.dtype)
