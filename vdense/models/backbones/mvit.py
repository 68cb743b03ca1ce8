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
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn.bricks import DropPath
from mmengine.model.weight_init import trunc_normal_

from vdense.converters.identify import register_family
from vdense.converters.mvit import convert_mvit, mvit_keys_from_v1
from vdense.converters.tables import fit_position_tables
from vdense.registry import MODELS

from ..layers import (
    ConvPatchEmbed,
    Mlp,
    Stage,
    decomposed_relative_position_bias,
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
            self.add_module(f'pool_{name}', nn.Conv2d(head_dim, head_dim, kernel_size=pool_kernel, stride=stride,
                                                      padding=pool_kernel // 2, groups=head_dim, bias=False))
            self.add_module(f'norm_{name}', norm_layer(head_dim))
        if rel_pos_size is not None:
            self.rel_pos_h = nn.Parameter(torch.zeros(rel_pos_size, head_dim))
            self.rel_pos_w = nn.Parameter(torch.zeros(rel_pos_size, head_dim))
        else:
            self.rel_pos_h = self.rel_pos_w = None

    def _pooled(self, x: torch.Tensor, part: int, pool: nn.Conv2d, norm: nn.Module) -> torch.Tensor:
        """Part ``part`` (0, 1, 2: q, k, v) of the qkv projection of x (B, H, W, C), pooled and normed:
        (B, H', W', heads, hd).

        Projected on its own (rows of ``qkv.weight``) so the conv reads a dense channels-last map, and pooled as one
        (B, C, H, W) depthwise conv with the per-head kernel tiled over the heads: no (B * heads) relayout.
        """
        C, nh = self.dim_out, self.num_heads
        rows = slice(part * C, (part + 1) * C)
        bias = None if self.qkv.bias is None else self.qkv.bias[rows]
        t = F.linear(x, self.qkv.weight[rows], bias)
        weight = pool.weight if nh == 1 else pool.weight.repeat(nh, 1, 1, 1)
        t = F.conv2d(t.permute(0, 3, 1, 2), weight, stride=pool.stride, padding=pool.padding, groups=C)
        t = t.permute(0, 2, 3, 1)
        B, H, W, _ = t.shape
        return norm(t.reshape(B, H, W, nh, C // nh))

    def _attend(self, q, k, v, q_hw, k_hw) -> torch.Tensor:
        """q: (B', Nq, heads, hd), k/v: (B', Nk, heads, hd) -> (B', Nq, heads, hd), residual pooling included."""
        qt, kt, vt = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        mask = None
        if self.rel_pos_h is not None:
            # The reference adds the term to the already scaled logits, computed from the UNSCALED q.
            mask = decomposed_relative_position_bias(qt, q_hw=q_hw, k_hw=k_hw, rel_pos_h=self.rel_pos_h,
                                                     rel_pos_w=self.rel_pos_w).to(q.dtype)
        out = F.scaled_dot_product_attention(qt, kt, vt, attn_mask=mask).transpose(1, 2)
        return out + q if self.residual_pooling else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B = x.shape[0]
        C, nh = self.dim_out, self.num_heads
        q = self._pooled(x, part=0, pool=self.pool_q, norm=self.norm_q)
        k = self._pooled(x, part=1, pool=self.pool_k, norm=self.norm_k)
        v = self._pooled(x, part=2, pool=self.pool_v, norm=self.norm_v)
        Hq, Wq, Hk, Wk = q.shape[1], q.shape[2], k.shape[1], k.shape[2]
        if self.window is None:
            out = self._attend(q.view(B, Hq * Wq, nh, -1), k.view(B, Hk * Wk, nh, -1), v.view(B, Hk * Wk, nh, -1),
                               q_hw=(Hq, Wq), k_hw=(Hk, Wk))
            return self.proj(out.reshape(B, Hq, Wq, C))
        # Hwin: pooled maps cut into windows, zero-padded at the bottom/right and not masked, as detectron2 does.
        wq, wk = self.window
        grid_q, grid_k = (window_grid(Hq, Wq, window_size=wq, device=x.device),
                          window_grid(Hk, Wk, window_size=wk, device=x.device))
        if [n // wq for n in grid_q.padded_hw] != [n // wk for n in grid_k.padded_hw]:
            raise ValueError(f'query windows {wq} on {Hq}x{Wq} and key windows {wk} on {Hk}x{Wk} do not pair up')
        nw = grid_q.num_windows
        q, k, v = (map_to_windows(t.view(B, t.shape[1], t.shape[2], C), g).view(B * nw, -1, nh, C // nh)
                   for t, g in ((q, grid_q), (k, grid_k), (v, grid_k)))
        out = self._attend(q, k, v, q_hw=(wq, wq), k_hw=(wk, wk))
        return self.proj(windows_to_map(out.reshape(B, nw, wq * wq, C), grid_q, Hq, Wq))


class PoolSkip(nn.Module):
    """The attention skip where Q is strided: max-pooled like Q (kernel stride + 1), on a channels-last map."""

    def __init__(self, stride: int):
        super().__init__()
        self.pool = nn.MaxPool2d(kernel_size=stride + 1, stride=stride, padding=(stride + 1) // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


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
        self.norm1 = norm_layer(dim)
        self.attn = PoolingAttention(dim=dim, dim_out=att_dim, num_heads=num_heads, stride_q=stride_q,
                                     stride_kv=stride_kv, qkv_bias=qkv_bias, pool_kernel=pool_kernel,
                                     norm_layer=norm_layer, residual_pooling=residual_pooling,
                                     rel_pos_size=rel_pos_size, window=window)
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()
        self.norm2 = norm_layer(att_dim)
        self.mlp = Mlp(att_dim, int(att_dim * mlp_ratio), dim_out)
        self.proj = nn.Linear(dim, dim_out) if dim != dim_out else None
        self.dim_mul_in_att = dim_mul_in_att
        self.pool_skip = PoolSkip(stride_q) if stride_q > 1 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_norm = self.norm1(x)
        x = self.pool_skip(self._skip(x, x_norm, self.dim_mul_in_att)) + self.drop_path(self.attn(x_norm))
        x_norm = self.norm2(x)
        return self._skip(x, x_norm, not self.dim_mul_in_att) + self.drop_path(self.mlp(x_norm))

    def _skip(self, x: torch.Tensor, x_norm: torch.Tensor, grows_here: bool) -> torch.Tensor:
        """The sub-layer's input, or where the channels grow in this sub-layer, ``proj`` of its normed input."""
        return self.proj(x_norm) if grows_here and self.proj is not None else x


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
        super().__init__(arch=arch, out_indices=out_indices, frozen_stages=frozen_stages, with_cp=with_cp,
                         init_cfg=init_cfg)
        cfg = self.arch_settings
        if dim_mul_in_att is not None:
            cfg['dim_mul_in_att'] = dim_mul_in_att
        self.use_hwin = use_hwin
        depths, dims, heads = cfg['depths'], cfg['embed_dims'], cfg['num_heads']
        self.depths = list(depths)
        self.num_stages = len(depths)
        norm_layer = partial(nn.LayerNorm, eps=1e-6)

        self.patch_embed = ConvPatchEmbed(in_channels, dims[0], kernel_size=7, stride=4, padding=3, norm_layer=None)
        dpr = iter(torch.linspace(0, drop_path_rate, sum(depths), device='cpu').tolist())
        self.stages = nn.ModuleList()
        self.num_features: List[int] = []
        size, kv_stride, last = img_size // 4, adaptive_kv_stride, self.num_stages - 1
        for i, depth in enumerate(depths):
            blocks = nn.ModuleList()
            for j in range(depth):
                stride_q = 2 if i > 0 and j == 0 else 1  # each stage after the first downsamples in its block 0
                if stride_q > 1:
                    kv_stride = max(kv_stride // 2, 1)
                if cfg['dim_mul_in_att']:
                    dim_in, dim_out = (dims[i - 1] if i > 0 and j == 0 else dims[i]), dims[i]
                else:
                    dim_in, dim_out = dims[i], (dims[i + 1] if i < last and j == depth - 1 else dims[i])
                is_global = not use_hwin or (i > 0 and j == depth - 1)
                block_kv_stride = kv_stride * 2 if use_hwin and is_global and 0 < i < last else kv_stride
                window = None if is_global else self._window(window_size, stage=i, stride_q=stride_q,
                                                             stride_kv=block_kv_stride)
                rel_pos_size = 2 * max(size // stride_q, size // block_kv_stride) - 1 if use_rel_pos else None
                blocks.append(MultiScaleBlock(
                    dim=dim_in, dim_out=dim_out, num_heads=heads[i], stride_q=stride_q, stride_kv=block_kv_stride,
                    dim_mul_in_att=cfg['dim_mul_in_att'], mlp_ratio=mlp_ratio, qkv_bias=qkv_bias,
                    drop_path=next(dpr), norm_layer=norm_layer, pool_kernel=pool_kernel,
                    residual_pooling=residual_pooling, rel_pos_size=rel_pos_size, window=window))
                size //= stride_q
            self.stages.append(Stage(blocks, with_cp=with_cp))
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
    def _check_arch(cls, cfg: dict) -> dict:
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

    def _keys_from_v1(self, keys: Iterable[str], prefix: str) -> Dict[str, str]:
        return mvit_keys_from_v1(keys, self.depths, prefix)

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
