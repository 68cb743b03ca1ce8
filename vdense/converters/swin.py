"""Swin checkpoints (official microsoft/Swin-Transformer, timm, mmdet/mmseg/mmpretrain-style mmdet layout) -> ours.

Ours: ``patch_embed.{proj,norm}``, ``stages.i.blocks.j.{norm1,attn.{qkv,proj,relative_position_bias_table},
norm2,mlp.{fc1,fc2}}``, ``stages.i.downsample.{norm,reduction}`` at the END of stage i (official order of the
merged 2x2 neighbours), output norms ``norm{i}``.
"""
import re
from collections import OrderedDict
from typing import Dict, Mapping

import torch

from .utils import strip_backbone_prefix, unwrap_state_dict


def _unfold_to_official(w: torch.Tensor) -> torch.Tensor:
    """mmdet's patch merging concatenates the 2x2 neighbours in nn.Unfold order ((0,0), (0,1), (1,0), (1,1) per
    channel); the official order is (0,0), (1,0), (0,1), (1,1) per neighbour. Works on Linear weights and norms."""
    if w.dim() == 2:
        out_c, in_c = w.shape
        return w.reshape(out_c, in_c // 4, 4).transpose(1, 2)[:, [0, 2, 1, 3], :].reshape(out_c, in_c)
    return w.reshape(-1, 4).T[[0, 2, 1, 3]].reshape(-1)


def detect_swin_layout(state: Mapping[str, torch.Tensor]) -> str:
    keys = list(state)
    if any('attn.w_msa.' in k or k.startswith('patch_embed.projection') for k in keys):
        return 'mmdet'
    if any(k.startswith('layers.') for k in keys):
        # official: downsample at the end of layers 0-2; timm >= 0.9: at the start of layers 1-3.
        return 'official' if any(k.startswith('layers.0.downsample') for k in keys) else 'timm'
    if any(k.startswith('stages.') and '.blocks.' in k for k in keys):
        return 'vdense'
    raise ValueError(f'not a Swin checkpoint: first keys {keys[:5]}')


def convert_swin(checkpoint: Mapping, num_stages: int = 4) -> Dict[str, torch.Tensor]:
    state = strip_backbone_prefix(unwrap_state_dict(checkpoint))
    layout = detect_swin_layout(state)
    out = OrderedDict()
    for k, v in state.items():
        if k.startswith('head.') or k.endswith(('relative_position_index', 'attn_mask')):
            continue  # classifier head, and buffers rebuilt from the window size
        if layout in ('official', 'timm'):
            if k.startswith('norm.'):
                k = f'norm{num_stages - 1}.' + k[5:]
            m = re.match(r'layers\.(\d+)\.downsample\.(.*)', k)
            if m:
                stage = int(m.group(1)) - (1 if layout == 'timm' else 0)
                k = f'stages.{stage}.downsample.{m.group(2)}'
            else:
                k = re.sub(r'^layers\.(\d+)\.blocks\.', r'stages.\1.blocks.', k)
        elif layout == 'mmdet':
            k = k.replace('patch_embed.projection.', 'patch_embed.proj.').replace('.attn.w_msa.', '.attn.')
            k = k.replace('.ffn.layers.0.0.', '.mlp.fc1.').replace('.ffn.layers.1.', '.mlp.fc2.')
            if '.downsample.' in k:
                v = _unfold_to_official(v)
        out[k] = v
    return out
