"""ScalableViT (Yang et al., "ScalableViT: Rethinking the Context-oriented Generalization of Vision Transformer",
ECCV 2022, arXiv 2203.10790) as a dense-prediction backbone.

Same function as the authors' ImageNet code (github Yangr116/ScalableViT) on the same weights, with their module
names inside the blocks (their stage layout is renamed on loading: vdense.converters.scalable_vit); unlike it,
any input size works (IWSA pads to the window and masks the padding, SSA's reduction pads to its stride) and
attention runs through ``F.scaled_dot_product_attention``.
Feature maps travel channels-last (B, H, W, C) between blocks, so no block needs H, W passed around.
"""
import math
from functools import partial
from typing import Dict, Iterable, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from vdense.converters.identify import register_family
from vdense.converters.scalable_vit import convert_scalable_vit, scalable_vit_keys_from_v1
from vdense.registry import MODELS

from ..layers import (
    ConvPatchEmbed,
    PositionEncodingGenerator,
    PreNormBlock,
    Stage,
    expand_window_mask,
    init_linear_and_layer_norm,
    map_to_windows,
    sdpa_mixed_head_dims,
    window_grid,
    windows_to_map,
)
from .base import HierarchicalBackbone


class IWSA(nn.Module):
    """Interactive window self-attention: plain multi-head attention inside non-overlapping windows (no shift,
    no relative bias) plus the local interaction module (LIM), a 3x3 depthwise conv over V laid out as the whole
    image, added before the output projection so information crosses window borders."""

    def __init__(self, dim: int, num_heads: int, window_size: int = 7, qkv_bias: bool = True,
                 attn_drop: float = 0., proj_drop: float = 0.):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'dim {dim} must be divisible by num_heads {num_heads}')
        self.num_heads = num_heads
        self.window_size = window_size
        self.attn_drop = attn_drop
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.lim_func = nn.Conv2d(dim, dim, kernel_size=3, stride=1, padding=1, groups=dim)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, H, W, C = x.shape
        ws, nh = self.window_size, self.num_heads
        qkv = self.qkv(x)
        # LIM sees the unpadded V image, exactly as in the reference.
        lim = self.lim_func(qkv[..., 2 * C:].permute(0, 3, 1, 2)).permute(0, 2, 3, 1)

        grid = window_grid(H, W, window_size=ws, device=x.device)
        q, k, v = map_to_windows(qkv, grid).view(-1, ws * ws, 3, nh, C // nh).permute(2, 0, 3, 1, 4).unbind(0)
        # Zero-padded keys are masked out, so odd sizes give the same result as windows clipped to the map.
        mask = None if grid.key_mask is None else expand_window_mask(grid.key_mask, B)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                             dropout_p=self.attn_drop if self.training else 0.)
        out = windows_to_map(out.transpose(1, 2).reshape(B, grid.num_windows, ws * ws, C), grid, H, W)
        return self.proj_drop(self.proj(out + lim))


class SSA(nn.Module):
    """Scalable self-attention: keys/values from a spatially reduced map (depthwise sr x sr conv, then 1x1 conv to
    C' = int(C * c_ratio) channels, LN, GELU); queries and keys in C' channels, values back in C.
    With sr_ratio == 1 it is plain global multi-head attention (``q`` and ``kv`` projections)."""

    def __init__(self, dim: int, num_heads: int, sr_ratio: int, c_ratio: float, qkv_bias: bool = True,
                 attn_drop: float = 0., proj_drop: float = 0.):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'dim {dim} must be divisible by num_heads {num_heads}')
        self.num_heads = num_heads
        self.sr_ratio = sr_ratio
        self.attn_drop = attn_drop
        # The reference scales by (head_dim * c_ratio) ** -0.5 in both branches; kept for parity.
        self.scale = (dim // num_heads * c_ratio) ** -0.5
        if sr_ratio > 1:
            reduced = int(dim * c_ratio)
            if reduced % num_heads:
                raise ValueError(f'int(dim * c_ratio) = {reduced} must be divisible by num_heads {num_heads}')
            self.q = nn.Linear(dim, reduced, bias=qkv_bias)
            self.reduction = nn.Sequential(
                nn.Conv2d(dim, dim, kernel_size=sr_ratio, stride=sr_ratio, groups=dim),
                nn.Conv2d(dim, reduced, kernel_size=1))
            self.norm_act = nn.Sequential(nn.LayerNorm(reduced), nn.GELU())
            self.k = nn.Linear(reduced, reduced, bias=qkv_bias)
            self.v = nn.Linear(reduced, dim, bias=qkv_bias)
        else:
            self.q = nn.Linear(dim, dim, bias=qkv_bias)
            self.kv = nn.Linear(dim, dim * 2, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, H, W, C = x.shape
        nh = self.num_heads
        q = self.q(x).view(B, H * W, nh, -1).transpose(1, 2)
        if self.sr_ratio > 1:
            src = x.permute(0, 3, 1, 2)
            # Pad to the stride so borders of odd sizes (and maps smaller than sr) still give keys.
            # non-negative operands only (traced for ONNX, the modulo of a negative int can take the other sign)
            sr = self.sr_ratio
            pad_h, pad_w = (sr - H % sr) % sr, (sr - W % sr) % sr
            if pad_h or pad_w:
                src = F.pad(src, (0, pad_w, 0, pad_h))
            src = self.norm_act(self.reduction(src).flatten(2).transpose(1, 2))
            k = self.k(src).view(B, -1, nh, q.shape[-1]).transpose(1, 2)
            v = self.v(src).view(B, -1, nh, C // nh).transpose(1, 2)
        else:
            k, v = self.kv(x).view(B, H * W, 2, nh, C // nh).permute(2, 0, 3, 1, 4).unbind(0)
        out = sdpa_mixed_head_dims(q, k, v, scale=self.scale, dropout_p=self.attn_drop if self.training else 0.)
        return self.proj_drop(self.proj(out.transpose(1, 2).reshape(B, H, W, C)))


@MODELS.register_module()
@register_family
class ScalableViT(HierarchicalBackbone):
    """ScalableViT backbone: four stages of alternating IWSA (even blocks) and SSA (odd blocks) with a PEG after
    block 0 of each stage, emitting NCHW maps at strides 4, 8, 16, 32.

    Args:
        arch: 's', 'b', 'l' (or 'small', 'base', 'large'), or a dict with ``embed_dims``, ``depths``,
            ``num_heads``, ``c_ratios`` and optionally ``sr_ratios``, ``window_sizes``, ``mlp_ratios``.
        drop_path_rate: stochastic depth, rising linearly over all blocks to this value.
        out_indices, frozen_stages, with_cp: see :class:`HierarchicalBackbone`.
        init_cfg: ``dict(type='Pretrained', checkpoint=...)`` takes the authors' ``.pth``, a vdense
            backbone-only export or any mmdet/mmseg/mmpretrain checkpoint holding a ScalableViT.
    """
    arch_zoo: Dict[str, dict] = {
        's': dict(embed_dims=[64, 128, 256, 512], depths=[2, 2, 20, 2], num_heads=[2, 4, 8, 16],
                  c_ratios=[1.25, 1.25, 1.25, 1]),
        'b': dict(embed_dims=[96, 192, 384, 768], depths=[2, 2, 14, 6], num_heads=[3, 6, 12, 24],
                  c_ratios=[2, 1.25, 1.25, 1]),
        'l': dict(embed_dims=[128, 256, 512, 1024], depths=[2, 6, 12, 4], num_heads=[4, 8, 16, 32],
                  c_ratios=[0.25, 0.5, 1, 1]),
    }
    arch_aliases = {'small': 's', 'base': 'b', 'large': 'l'}

    def __init__(self, arch: Union[str, dict] = 's', in_channels: int = 3, out_indices: Sequence[int] = (0, 1, 2, 3),
                 qkv_bias: bool = True, drop_rate: float = 0., attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.2, frozen_stages: int = -1, with_cp: bool = False, init_cfg=None):
        super().__init__(arch=arch, out_indices=out_indices, frozen_stages=frozen_stages, with_cp=with_cp,
                         init_cfg=init_cfg)
        cfg = self.arch_settings
        dims = cfg['embed_dims']
        self.num_stages = len(cfg['depths'])
        self.num_features = list(dims)
        norm_layer = partial(nn.LayerNorm, eps=1e-6)

        # overlapping 7x7 stride-4 stem; each later stage starts with a 3x3 stride-2 one
        self.patch_embed = ConvPatchEmbed(in_channels, dims[0], kernel_size=7, stride=4, padding=3,
                                          norm_layer=norm_layer)
        dpr = torch.linspace(0, drop_path_rate, sum(cfg['depths']), device='cpu').tolist()
        self.stages = nn.ModuleList()
        for i, (dim, depth) in enumerate(zip(dims, cfg['depths'])):
            blocks = nn.ModuleList([
                PreNormBlock(
                    dim,
                    self._attention(dim=dim, num_heads=cfg['num_heads'][i],
                                    window_size=cfg['window_sizes'][i] if j % 2 == 0 else 1,
                                    sr_ratio=cfg['sr_ratios'][i], c_ratio=cfg['c_ratios'][i], qkv_bias=qkv_bias,
                                    attn_drop=attn_drop_rate, proj_drop=drop_rate),
                    mlp_ratio=cfg['mlp_ratios'][i], drop=drop_rate, drop_path=dpr[sum(cfg['depths'][:i]) + j],
                    norm_layer=norm_layer)
                for j in range(depth)])
            downsample = None if i == 0 else ConvPatchEmbed(
                dims[i - 1], dim, kernel_size=3, stride=2, padding=1, norm_layer=norm_layer, channels_last_input=True)
            self.stages.append(Stage(blocks, downsample=downsample, pos_block=PositionEncodingGenerator(dim),
                                     drop=drop_rate, with_cp=with_cp))
        self._build_output_norms(norm_layer)

    @staticmethod
    def _attention(window_size: int, sr_ratio: int, c_ratio: float, **kwargs) -> nn.Module:
        """IWSA where ``window_size`` > 1 (even blocks), SSA otherwise (odd blocks)."""
        if window_size > 1:
            return IWSA(window_size=window_size, **kwargs)
        return SSA(sr_ratio=sr_ratio, c_ratio=c_ratio, **kwargs)

    @classmethod
    def _check_arch(cls, cfg: dict) -> dict:
        cls._require_arch_keys(cfg, ('embed_dims', 'depths', 'num_heads', 'c_ratios'))
        cfg = {**dict(sr_ratios=[8, 4, 2, 1], window_sizes=[7, 7, 7, 7], mlp_ratios=[4, 4, 4, 4]), **cfg}
        lengths = {k: len(v) for k, v in cfg.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f'ScalableViT arch lists must all have one entry per stage, got lengths {lengths}')
        return cfg

    def _keys_from_v1(self, keys: Iterable[str], prefix: str) -> Dict[str, str]:
        return scalable_vit_keys_from_v1(keys, prefix)

    def init_from_scratch(self) -> None:
        """The reference init (trunc-normal Linear, unit LayerNorm, He-normal fan-out convs), but for the patch
        embeddings' conv bias (see below)."""
        for m in self.modules():
            if init_linear_and_layer_norm(m):
                continue
            if isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
                nn.init.normal_(m.weight, 0, math.sqrt(2.0 / fan_out))
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        # Zero-padded input (batches of mixed aspect ratios) gives the patch convs all-zero outputs where the bias is
        # zero too, and their LayerNorm then divides by sqrt(eps): gradients ~1e8 times too large, which gradient
        # clipping turns into a step of nothing for every other weight. PyTorch's default conv bias init (uniform,
        # +-1/sqrt(fan_in)) keeps those vectors' variance well above eps. Loaded checkpoints bring their own bias.
        for embed in [self.patch_embed] + [stage.downsample for stage in self.stages[1:]]:
            fan_in = embed.proj.in_channels * embed.proj.kernel_size[0] * embed.proj.kernel_size[1]
            nn.init.uniform_(embed.proj.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))

    def convert_checkpoint(self, checkpoint) -> dict:
        return convert_scalable_vit(checkpoint, self.num_stages)
