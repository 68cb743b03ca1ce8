"""MViTv2 (Li et al., "MViTv2: Improved Multiscale Vision Transformers for Classification and Detection", CVPR 2022,
arXiv 2112.01526) as a dense-prediction backbone.

The same function as the official code (facebookresearch/mvit), timm's ``mvitv2_*`` and mmpretrain's ``MViT`` on the
same weights with windows off, and as detectron2's ``MViT`` with hybrid window attention (Hwin) on. Unlike
mmpretrain's, the tensor passed on to the next stage is not the normed output, and frozen_stages / with_cp work.
Attention runs through ``F.scaled_dot_product_attention`` with the decomposed relative positions as ``attn_mask``;
maps travel channels-last (B, H, W, C), and any input size works (pooling convs need no padding; Hwin pads the
pooled Q/K/V maps with zeros to whole windows, as detectron2 does).
"""
from functools import partial
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn.bricks import DropPath
from mmengine.model.weight_init import trunc_normal_

from vdense.converters.identify import register_family
from vdense.converters.mvit import convert_mvit
from vdense.converters.tables import fit_position_tables
from vdense.registry import MODELS

from ..layers import (
    ConvPatchEmbed,
    Mlp,
    add_residual,
    decomposed_rel_pos,
    init_linear_and_layer_norm,
    map_to_windows,
    window_grid,
    windows_to_map,
)
from .base import HierarchicalBackbone


class PoolingAttention(nn.Module):
    """Multi-head pooling attention: Q, K and V each pooled by a depthwise conv (one kernel shared by the heads)
    and normed per head; decomposed relative positions on the unscaled pooled Q; residual pooling (+ pooled Q).

    Args:
        window: None for global attention, else (query window, key/value window) in tokens of the pooled maps.
        rel_pos_size: length of the ``rel_pos_h/w`` tables (None: no relative positions).
    """

    def __init__(self, dim: int, dim_out: int, num_heads: int, stride_q: int, stride_kv: int, qkv_bias: bool = True,
                 pool_kernel: int = 3, norm_layer=nn.LayerNorm, residual_pooling: bool = True,
                 rel_pos_size: Optional[int] = None, window: Optional[Tuple[int, int]] = None):
        super().__init__()
        if dim_out % num_heads:
            raise ValueError(f'dim {dim_out} must be divisible by num_heads {num_heads}')
        self.num_heads = num_heads
        self.dim_out = dim_out
        self.residual_pooling = residual_pooling
        self.window = window
        head_dim = dim_out // num_heads
        self.qkv = nn.Linear(dim, dim_out * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim_out, dim_out)
        for name, stride in (('q', stride_q), ('k', stride_kv), ('v', stride_kv)):
            self.add_module(f'pool_{name}', nn.Conv2d(head_dim, head_dim, pool_kernel, stride, pool_kernel // 2,
                                                      groups=head_dim, bias=False))
            self.add_module(f'norm_{name}', norm_layer(head_dim))
        if rel_pos_size is not None:
            self.rel_pos_h = nn.Parameter(torch.zeros(rel_pos_size, head_dim))
            self.rel_pos_w = nn.Parameter(torch.zeros(rel_pos_size, head_dim))
        else:
            self.rel_pos_h = self.rel_pos_w = None

    def _pooled(self, x: torch.Tensor, i: int, pool: nn.Conv2d, norm: nn.Module) -> torch.Tensor:
        """Part ``i`` (q, k, v) of the qkv projection of x (B, H, W, C), pooled and normed: (B, H', W', heads, hd).

        Projected on its own (rows of ``qkv.weight``) so the conv reads a dense channels-last map, and pooled as one
        (B, C, H, W) depthwise conv with the per-head kernel tiled over the heads: no (B * heads) relayout.
        """
        C, nh = self.dim_out, self.num_heads
        bias = None if self.qkv.bias is None else self.qkv.bias[i * C:(i + 1) * C]
        t = F.linear(x, self.qkv.weight[i * C:(i + 1) * C], bias)
        weight = pool.weight if nh == 1 else pool.weight.repeat(nh, 1, 1, 1)
        t = F.conv2d(t.permute(0, 3, 1, 2), weight, None, pool.stride, pool.padding, groups=C).permute(0, 2, 3, 1)
        B, H, W, _ = t.shape
        return norm(t.reshape(B, H, W, nh, C // nh))

    def _attend(self, q, k, v, q_hw, k_hw) -> torch.Tensor:
        """q: (B', Nq, heads, hd), k/v: (B', Nk, heads, hd) -> (B', Nq, heads, hd), residual pooling included."""
        qt, kt, vt = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        mask = None
        if self.rel_pos_h is not None:
            # The reference adds the term to the already scaled logits, computed from the UNSCALED q.
            mask = decomposed_rel_pos(qt, q_hw, k_hw, self.rel_pos_h, self.rel_pos_w).to(q.dtype)
        out = F.scaled_dot_product_attention(qt, kt, vt, attn_mask=mask).transpose(1, 2)
        return out + q if self.residual_pooling else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B = x.shape[0]
        C, nh = self.dim_out, self.num_heads
        q = self._pooled(x, 0, self.pool_q, self.norm_q)
        k = self._pooled(x, 1, self.pool_k, self.norm_k)
        v = self._pooled(x, 2, self.pool_v, self.norm_v)
        Hq, Wq, Hk, Wk = q.shape[1], q.shape[2], k.shape[1], k.shape[2]
        if self.window is None:
            out = self._attend(q.view(B, Hq * Wq, nh, -1), k.view(B, Hk * Wk, nh, -1), v.view(B, Hk * Wk, nh, -1),
                               (Hq, Wq), (Hk, Wk))
            return self.proj(out.reshape(B, Hq, Wq, C))
        # Hwin: pooled maps cut into windows, zero-padded at the bottom/right and not masked, as detectron2 does.
        wq, wk = self.window
        grid_q, grid_k = window_grid(Hq, Wq, wq, 0, x.device), window_grid(Hk, Wk, wk, 0, x.device)
        if [n // wq for n in grid_q.padded_hw] != [n // wk for n in grid_k.padded_hw]:
            raise ValueError(f'query windows {wq} on {Hq}x{Wq} and key windows {wk} on {Hk}x{Wk} do not pair up')
        nw = grid_q.num_windows
        q, k, v = (map_to_windows(t.view(B, t.shape[1], t.shape[2], C), g).view(B * nw, -1, nh, C // nh)
                   for t, g in ((q, grid_q), (k, grid_k), (v, grid_k)))
        out = self._attend(q, k, v, (wq, wq), (wk, wk))
        return self.proj(windows_to_map(out.reshape(B, nw, wq * wq, C), grid_q, Hq, Wq))


class MultiScaleBlock(nn.Module):
    """Pre-norm block: ``skip + DropPath(attn(LN1 x))`` then ``skip + DropPath(MLP(LN2 x))``.

    Where channels grow, the skip is ``proj`` of the normed input of the sub-layer that grows them (attention by
    default, the MLP with ``dim_mul_in_att=False``); where Q is strided, the attention skip is max-pooled.
    """

    def __init__(self, dim: int, dim_out: int, num_heads: int, stride_q: int, stride_kv: int,
                 dim_mul_in_att: bool = True, mlp_ratio: float = 4., qkv_bias: bool = True, drop_path: float = 0.,
                 norm_layer=nn.LayerNorm, pool_kernel: int = 3, residual_pooling: bool = True,
                 rel_pos_size: Optional[int] = None, window: Optional[Tuple[int, int]] = None):
        super().__init__()
        att_dim = dim_out if dim_mul_in_att else dim
        self.dim_mul_in_att = dim_mul_in_att
        self.norm1 = norm_layer(dim)
        self.attn = PoolingAttention(dim, att_dim, num_heads, stride_q, stride_kv, qkv_bias, pool_kernel, norm_layer,
                                     residual_pooling, rel_pos_size, window)
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()
        self.norm2 = norm_layer(att_dim)
        self.mlp = Mlp(att_dim, int(att_dim * mlp_ratio), dim_out)
        self.proj = nn.Linear(dim, dim_out) if dim != dim_out else None
        self.pool_skip = nn.MaxPool2d(stride_q + 1, stride_q, (stride_q + 1) // 2) if stride_q > 1 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_norm = self.norm1(x)
        skip = self.proj(x_norm) if self.proj is not None and self.dim_mul_in_att else x
        if self.pool_skip is not None:
            skip = self.pool_skip(skip.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        x = add_residual(skip, self.drop_path(self.attn(x_norm)))
        x_norm = self.norm2(x)
        skip = self.proj(x_norm) if self.proj is not None and not self.dim_mul_in_att else x
        return add_residual(skip, self.drop_path(self.mlp(x_norm)))


@MODELS.register_module()
@register_family
class MViT(HierarchicalBackbone):
    """MViTv2 backbone emitting NCHW maps at strides 4, 8, 16, 32 (the end of each stage, each through ``norm{i}``
    applied to a copy).

    Args:
        arch: 't', 's', 'b', 'l' (or 'tiny', 'small', 'base', 'large'), or a dict with ``embed_dims`` and
            ``num_heads`` (ints doubled per stage, or one entry per stage) and ``depths`` (blocks per stage) or
            mmpretrain's ``num_layers`` + ``downscale_indices``; optionally ``dim_mul_in_att``.
        img_size: input size the relative-position tables are built for (224 for the released checkpoints);
            other sizes interpolate them linearly at run time.
        dim_mul_in_att: grow channels (and heads) in the attention of a stage's first block (MViTv2 default), or,
            if False, in the MLP of the previous stage's last block (the released IN-1K L checkpoint). None: the
            arch's setting.
        adaptive_kv_stride: K/V pooling stride in stage 1, halved at each Q-strided block (4, 2, 1, 1).
        use_hwin: hybrid window attention (detectron2's MViTv2 for detection): every block attends within windows
            of ``window_size / 2**i`` tokens in stage i (56/28/14/7), except the last block of stages 2-4, which
            stays global; the global blocks of stages 2 and 3 pool K/V with twice the stride, as detectron2 does.
            Off for ImageNet classification.
        out_indices, frozen_stages, with_cp: see :class:`HierarchicalBackbone`.
        init_cfg: ``dict(type='Pretrained', checkpoint=...)`` takes the official ``MViTv2_*_in1k.pyth``, timm's
            ``mvitv2_*``, mmpretrain's ``MViT`` (``backbone.``-prefixed or not) or a vdense export.
    """
    arch_zoo: Dict[str, dict] = {
        't': dict(embed_dims=96, depths=[1, 2, 5, 2], num_heads=1),
        's': dict(embed_dims=96, depths=[1, 2, 11, 2], num_heads=1),
        'b': dict(embed_dims=96, depths=[2, 3, 16, 3], num_heads=1),
        'l': dict(embed_dims=144, depths=[2, 6, 36, 4], num_heads=2, dim_mul_in_att=False),
    }
    arch_aliases = {'tiny': 't', 'small': 's', 'base': 'b', 'large': 'l'}

    def __init__(self, arch: Union[str, dict] = 't', in_channels: int = 3, img_size: int = 224,
                 out_indices: Sequence[int] = (0, 1, 2, 3), drop_path_rate: float = 0.1, mlp_ratio: float = 4.,
                 qkv_bias: bool = True, pool_kernel: int = 3, adaptive_kv_stride: int = 4,
                 residual_pooling: bool = True, use_rel_pos: bool = True, dim_mul_in_att: Optional[bool] = None,
                 use_hwin: bool = False, window_size: int = 56, frozen_stages: int = -1, with_cp: bool = False,
                 init_cfg=None):
        super().__init__(out_indices, frozen_stages, with_cp, init_cfg)
        cfg = self._resolve_arch(arch)
        if dim_mul_in_att is not None:
            cfg['dim_mul_in_att'] = dim_mul_in_att
        self.arch_settings = cfg
        self.use_hwin = use_hwin
        depths, dims, heads = cfg['depths'], cfg['embed_dims'], cfg['num_heads']
        self.depths = list(depths)
        self.num_stages = len(depths)
        norm_layer = partial(nn.LayerNorm, eps=1e-6)

        self.patch_embed = ConvPatchEmbed(in_channels, dims[0], 7, 4, 3, norm_layer=None)
        dpr = torch.linspace(0, drop_path_rate, sum(depths), device='cpu').tolist()
        self.blocks = nn.ModuleList()
        self.num_features: List[int] = []
        size, kv_stride, last = img_size // 4, adaptive_kv_stride, self.num_stages - 1
        for i, depth in enumerate(depths):
            for j in range(depth):
                stride_q = 2 if i > 0 and j == 0 else 1
                if stride_q > 1:
                    kv_stride = max(kv_stride // 2, 1)
                if cfg['dim_mul_in_att']:
                    dim_in, dim_out = (dims[i - 1] if i > 0 and j == 0 else dims[i]), dims[i]
                else:
                    dim_in, dim_out = dims[i], (dims[i + 1] if i < last and j == depth - 1 else dims[i])
                is_global = not use_hwin or (i > 0 and j == depth - 1)
                block_kv_stride = kv_stride * 2 if use_hwin and is_global and 0 < i < last else kv_stride
                window = None if is_global else self._window(window_size, i, stride_q, block_kv_stride)
                rel_pos_size = 2 * max(size // stride_q, size // block_kv_stride) - 1 if use_rel_pos else None
                self.blocks.append(MultiScaleBlock(
                    dim_in, dim_out, heads[i], stride_q, block_kv_stride, cfg['dim_mul_in_att'], mlp_ratio, qkv_bias,
                    dpr[len(self.blocks)], norm_layer, pool_kernel, residual_pooling, rel_pos_size, window))
                size //= stride_q
            self.num_features.append(dim_out)
        self._build_output_norms(norm_layer)

    @staticmethod
    def _window(window_size: int, stage: int, stride_q: int, stride_kv: int) -> Tuple[int, int]:
        """(query, key/value) windows in tokens of the pooled maps: detectron2's ``window // stride`` of a window
        laid over the block's input map."""
        q_win = window_size >> stage
        if q_win << stage != window_size or (q_win * stride_q) % stride_kv:
            raise ValueError(f'window_size {window_size} must halve evenly per stage and be divisible by the '
                             f'K/V strides (stage {stage + 1}: K/V stride {stride_kv})')
        return q_win, q_win * stride_q // stride_kv

    @classmethod
    def _resolve_arch(cls, arch: Union[str, dict]) -> dict:
        cfg = cls._arch_settings(arch, ())  # required keys checked below, after mmpretrain's form is mapped
        if 'depths' not in cfg and {'num_layers', 'downscale_indices'} <= set(cfg):  # mmpretrain's arch dict
            bounds = [0, *cfg.pop('downscale_indices'), cfg.pop('num_layers')]
            cfg['depths'] = [b - a for a, b in zip(bounds, bounds[1:])]
        required = {'embed_dims', 'depths', 'num_heads'}
        if not required <= set(cfg):
            raise ValueError(f'an MViT arch dict needs {sorted(required)} (or num_layers + downscale_indices '
                             f'instead of depths), got {sorted(cfg)}')
        n = len(cfg['depths'])
        for key in ('embed_dims', 'num_heads'):
            if isinstance(cfg[key], int):
                cfg[key] = [cfg[key] * 2 ** i for i in range(n)]
            if len(cfg[key]) != n:
                raise ValueError(f'MViT arch: {key} needs one entry per stage ({n}), got {cfg[key]}')
        if min(cfg['depths']) < 1:
            raise ValueError(f'MViT arch: every stage needs a block, got depths {cfg["depths"]}')
        cfg.setdefault('dim_mul_in_att', True)
        return cfg

    def _stage_blocks(self, i: int) -> List[nn.Module]:
        start = sum(self.depths[:i])
        return list(self.blocks[start:start + self.depths[i]])

    def stage_modules(self, i: int):
        return ([self.patch_embed] if i == 0 else []) + self._stage_blocks(i)

    def init_from_scratch(self) -> None:
        """The reference init: trunc-normal Linear and rel-pos tables, unit LayerNorm; convs keep torch's init."""
        for m in self.modules():
            if init_linear_and_layer_norm(m):
                continue
            if isinstance(m, PoolingAttention) and m.rel_pos_h is not None:
                trunc_normal_(m.rel_pos_h, std=.02)
                trunc_normal_(m.rel_pos_w, std=.02)

    def convert_checkpoint(self, checkpoint) -> dict:
        return fit_position_tables(convert_mvit(checkpoint, self.depths), self.state_dict(), 'MViT')

    def forward_stages(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        x = self.patch_embed(x)
        outs = []
        for i in range(self.num_stages):
            for block in self._stage_blocks(i):
                x = self._run_block(block, x)
            if i in self.out_indices:
                outs.append(self._output(i, x))
        return tuple(outs)
