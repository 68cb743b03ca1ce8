"""Swin Transformer (Liu et al., ICCV 2021) as a dense-prediction backbone.

The same function as the reference implementations on the same weights (microsoft/Swin-Transformer, mmdet's
``SwinTransformer``, timm's ``swin_*``), with attention through ``F.scaled_dot_product_attention`` (relative
bias + shift mask as ``attn_mask``), masks cached per input size, and any input size (zero padding to the window
after ``norm1``, exactly as the references pad). Loads the official, mmdet and timm checkpoint layouts.
"""
from typing import Dict, Iterable, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model.weight_init import trunc_normal_

from vdense.converters.identify import register_family
from vdense.converters.swin import convert_swin, swin_keys_from_v1
from vdense.converters.tables import fit_position_tables
from vdense.registry import MODELS

from ..layers import (
    ConvPatchEmbed,
    PreNormBlock,
    Stage,
    cpu_inference,
    init_linear_and_layer_norm,
    map_to_windows,
    relative_position_index,
    shifted_window_mask,
    window_grid,
    windows_to_map,
)
from .base import HierarchicalBackbone


class WindowAttention(nn.Module):
    """Multi-head self-attention inside windows with a learned relative-position bias."""

    def __init__(self, dim: int, num_heads: int, window_size: int, qkv_bias: bool = True,
                 attn_drop: float = 0., proj_drop: float = 0.):
        super().__init__()
        self.num_heads = num_heads
        self.window_size = window_size
        self.attn_drop = attn_drop
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window_size - 1) ** 2, num_heads))
        self.register_buffer('relative_position_index', relative_position_index(window_size).clone(),
                             persistent=False)
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def relative_bias(self) -> torch.Tensor:
        n = self.window_size ** 2
        return self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1).permute(2, 0, 1)

    def forward(self, windows: torch.Tensor, shift_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """windows: (B, num_windows, N, C); shift_mask: (B * num_windows, 1, N, N) or None."""
        B, nW, N, C = windows.shape
        windows = windows.reshape(B * nW, N, C)
        bias = self.relative_bias().unsqueeze(0)  # (1, heads, N, N), shared by all windows
        masks = (bias,) if shift_mask is None else (bias, shift_mask)
        chunk_rows = self.chunk_rows(N, C)
        if cpu_inference.chunking_applies(windows, B * nW, chunk_rows):
            out = cpu_inference.apply_in_row_chunks(self._attend, windows, chunk_rows, *masks)
        else:
            out = self._attend(windows, *masks)
        return out.view(B, nW, N, C)

    def chunk_rows(self, N: int, C: int) -> int:
        # the widest intermediate per window: qkv, or the attention mask once the shift mask is added
        return cpu_inference.rows_per_chunk(4 * N * max(3 * C, N * self.num_heads), tokens_per_row=N)

    def _attend(self, windows: torch.Tensor, bias: torch.Tensor,
                shift_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """windows: (num_windows, N, C), bias: (1, heads, N, N), shift_mask: (num_windows, 1, N, N) or None."""
        nW, N, C = windows.shape
        q, k, v = self.qkv(windows).view(nW, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        # 4-D masks only: SDPA's fused CPU kernel rejects 3-D/5-D ones (math fallback, 2-4x slower).
        mask = bias if shift_mask is None else bias + shift_mask  # one pass over the big mask
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask.to(q.dtype),
                                             dropout_p=self.attn_drop if self.training else 0.)
        return self.proj_drop(self.proj(out.transpose(1, 2).reshape(nW, N, C)))


class ShiftedWindowAttention(WindowAttention):
    """W-MSA (``shift=False``) or SW-MSA on a channels-last (B, H, W, C) map: zero padding to whole windows (after
    the block's norm1, exactly as the references pad), the cyclic shift and the window partition, then window
    attention and the way back. When the whole map fits in one window, the shift is dropped as the official code
    does at that resolution (only one window: nothing to shift between)."""

    def __init__(self, dim: int, num_heads: int, window_size: int, shift: bool, shift_single_window: bool = False,
                 **kwargs):
        super().__init__(dim=dim, num_heads=num_heads, window_size=window_size, **kwargs)
        self.shift = shift
        self.shift_single_window = shift_single_window

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, H, W, C = x.shape
        ws = self.window_size
        if self.shift and not self.shift_single_window and torch.jit.is_tracing():
            # ONNX export: whether the map exceeds one window is decided in the graph (H, W are traced tensors),
            # so one exported file shifts exactly where this code does at every input size. Not ``max(H, W)``:
            # Python's max compares at trace time and would keep the side that was larger at the trace size.
            shift = ((H > ws) | (W > ws)).long() * (ws // 2)
            masked = True  # a shift of 0 gives an all-zero mask
        else:
            shift = ws // 2 if self.shift and (self.shift_single_window or max(H, W) > ws) else 0
            masked = shift != 0
        # Padding, shift and partition: one gather.
        grid = window_grid(H, W, window_size=ws, shift=shift, device=x.device)
        mask = shifted_window_mask(H, W, window_size=ws, shift=shift, device=x.device, batch=B) if masked else None
        return windows_to_map(super().forward(map_to_windows(x, grid), mask), grid, H, W)


class PatchMerging(nn.Module):
    """2x2 neighbours concatenated (official order: (0,0), (1,0), (0,1), (1,1)) -> LN(4C) -> Linear(4C, 2C)."""

    def __init__(self, dim: int, norm_layer=nn.LayerNorm):
        super().__init__()
        self.norm = norm_layer(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, H, W, C = x.shape
        # Eager: no pad copy on even maps. ONNX export: an ``if`` on the traced sizes would be frozen at the trace
        # size (a stage map of odd side then fails in a Reshape), so the pad is always in the graph, its amount
        # computed there from H and W (zero on even sides; H, W >= 0, so the traced Mod is exact).
        if torch.jit.is_tracing() or H % 2 or W % 2:
            x = F.pad(x, (0, 0, 0, W % 2, 0, H % 2))
        x = x.view(B, (H + 1) // 2, 2, (W + 1) // 2, 2, C).permute(0, 1, 3, 4, 2, 5).flatten(3)
        return self.reduction(self.norm(x))


@MODELS.register_module()
@register_family
class Swin(HierarchicalBackbone):
    """Swin Transformer backbone emitting NCHW maps at strides 4, 8, 16, 32 (each stage after the first starts
    with a patch merging).

    Args:
        arch: 't', 's', 'b', 'l' (or 'tiny', 'small', 'base', 'large') or a dict with ``embed_dims``,
            ``depths``, ``num_heads``.
        window_size: attention window (7 for the IN-1K checkpoints, 12 for the 384 ones); tables of checkpoints
            of another window size are resized when loading.
        shift_single_window: shift even when the whole map fits in one window, as mmdet's implementation does;
            the official code (and timm at 224) does not, so neither do we by default.
    """
    arch_zoo: Dict[str, dict] = {
        't': dict(embed_dims=96, depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24]),
        's': dict(embed_dims=96, depths=[2, 2, 18, 2], num_heads=[3, 6, 12, 24]),
        'b': dict(embed_dims=128, depths=[2, 2, 18, 2], num_heads=[4, 8, 16, 32]),
        'l': dict(embed_dims=192, depths=[2, 2, 18, 2], num_heads=[6, 12, 24, 48]),
    }
    arch_aliases = {'tiny': 't', 'small': 's', 'base': 'b', 'large': 'l'}

    freezes_next_downsample = True  # as mmdet: a frozen stage's patch merging (at its end) is frozen too

    def __init__(self, arch: Union[str, dict] = 't', in_channels: int = 3, window_size: int = 7,
                 mlp_ratio: float = 4., qkv_bias: bool = True, out_indices: Sequence[int] = (0, 1, 2, 3),
                 drop_rate: float = 0., attn_drop_rate: float = 0., drop_path_rate: float = 0.1,
                 frozen_stages: int = -1, with_cp: bool = False, shift_single_window: bool = False,
                 init_cfg=None):
        super().__init__(arch=arch, out_indices=out_indices, frozen_stages=frozen_stages, with_cp=with_cp,
                         init_cfg=init_cfg)
        cfg = self.arch_settings
        self.window_size = window_size
        depths = cfg['depths']
        self.num_stages = len(depths)
        self.num_features = [cfg['embed_dims'] * 2 ** i for i in range(self.num_stages)]
        self.patch_embed = ConvPatchEmbed(in_channels, cfg['embed_dims'], kernel_size=4, stride=4,
                                          norm_layer=nn.LayerNorm, pad_to_stride=True)
        dpr = torch.linspace(0, drop_path_rate, sum(depths), device='cpu').tolist()
        self.stages = nn.ModuleList()
        for i, (depth, dim) in enumerate(zip(depths, self.num_features)):
            blocks = nn.ModuleList([
                PreNormBlock(
                    dim,
                    ShiftedWindowAttention(dim=dim, num_heads=cfg['num_heads'][i], window_size=window_size,
                                           shift=j % 2 == 1, shift_single_window=shift_single_window,
                                           qkv_bias=qkv_bias, attn_drop=attn_drop_rate, proj_drop=drop_rate),
                    mlp_ratio=mlp_ratio, drop=drop_rate, drop_path=dpr[sum(depths[:i]) + j])
                for j in range(depth)])
            self.stages.append(Stage(blocks, downsample=PatchMerging(self.num_features[i - 1]) if i > 0 else None,
                                     drop=drop_rate if i == 0 else 0., with_cp=with_cp))
        self._build_output_norms(nn.LayerNorm)

    @classmethod
    def _check_arch(cls, cfg: dict) -> dict:
        cls._require_arch_keys(cfg, ('embed_dims', 'depths', 'num_heads'))
        if len(cfg['depths']) != len(cfg['num_heads']):
            raise ValueError('Swin arch: depths and num_heads need one entry per stage')
        return cfg

    def _keys_from_v1(self, keys: Iterable[str], prefix: str) -> Dict[str, str]:
        return swin_keys_from_v1(keys, prefix)

    def init_from_scratch(self) -> None:
        for m in self.modules():
            if init_linear_and_layer_norm(m):
                continue
            if isinstance(m, WindowAttention):
                trunc_normal_(m.relative_position_bias_table, std=.02)

    def convert_checkpoint(self, checkpoint) -> dict:
        return fit_position_tables(convert_swin(checkpoint, self.num_stages), self.state_dict(), 'Swin')
