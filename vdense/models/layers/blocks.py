"""The transformer block and the stage the three families share."""
from typing import Callable, Optional

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn.bricks import DropPath

from .mlp import Mlp


class PreNormBlock(nn.Module):
    """``x + DropPath(attn(LN1 x))`` then ``x + DropPath(MLP(LN2 x))`` around any token mixer ``attn`` that maps a
    channels-last (B, H, W, C) map to one of the same shape (Swin's shifted windows, ScalableViT's IWSA/SSA)."""

    def __init__(self, dim: int, attn: nn.Module, mlp_ratio: float = 4., drop: float = 0., drop_path: float = 0.,
                 norm_layer: Callable[[int], nn.Module] = nn.LayerNorm):
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = attn
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class Stage(nn.Module):
    """One stage of a hierarchical backbone, channels-last in and out: ``downsample`` (None where the stage keeps its
    input's resolution), dropout, then ``blocks``, with ``pos_block`` (ScalableViT's PEG) after the first block.

    Args:
        with_cp: activation checkpointing per block (while autograd records): less memory for some recomputation.
    """

    def __init__(self, blocks: nn.ModuleList, downsample: Optional[nn.Module] = None,
                 pos_block: Optional[nn.Module] = None, drop: float = 0., with_cp: bool = False):
        super().__init__()
        self.downsample = downsample
        self.drop = nn.Dropout(drop) if drop > 0. else nn.Identity()
        self.blocks = blocks
        self.pos_block = pos_block
        self.with_cp = with_cp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.downsample is not None:
            x = self.downsample(x)
        x = self.drop(x)
        for j, block in enumerate(self.blocks):
            if self.with_cp and x.requires_grad and torch.is_grad_enabled():
                x = cp.checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
            if j == 0 and self.pos_block is not None:
                x = self.pos_block(x)
        return x
