"""Swin checkpoints (official microsoft/Swin-Transformer, timm, mmdet/mmseg/mmpretrain-style mmdet layout, vdense's
layout before version 2) -> ours.

Ours: ``patch_embed.{proj,norm}``, ``stages.i.downsample.{norm,reduction}`` (the patch merging at the START of stage
i, i >= 1; official order of the merged 2x2 neighbours), ``stages.i.blocks.j.{norm1,attn.{qkv,proj,
relative_position_bias_table},norm2,mlp.{fc1,fc2}}``, output norms ``norm{i}``.
The official layout (``layers.i``), mmdet's and vdense's before version 2 keep the merging at the END of stage i
(``stages.i.downsample``, so ``stages.0.downsample`` exists); timm >= 0.9 at the start, as ours.
"""
import re
from collections import OrderedDict
from typing import Dict, Iterable, Mapping

import torch

from .utils import strip_backbone_prefix, unwrap_state_dict


def _unfold_to_official(w: torch.Tensor) -> torch.Tensor:
    """mmdet's patch merging concatenates the 2x2 neighbours in nn.Unfold order ((0,0), (0,1), (1,0), (1,1) per
    channel); the official order is (0,0), (1,0), (0,1), (1,1) per neighbour. Works on Linear weights and norms."""
    if w.dim() == 2:
        out_c, in_c = w.shape
        return w.reshape(out_c, in_c // 4, 4).transpose(1, 2)[:, [0, 2, 1, 3], :].reshape(out_c, in_c)
    return w.reshape(-1, 4).T[[0, 2, 1, 3]].reshape(-1)


def swin_keys_from_v1(keys: Iterable[str], prefix: str = '') -> Dict[str, str]:
    """``{old: new}``: the patch merging at the end of stage i (``stages.i.downsample``: vdense before version 2,
    mmdet, the official layout once ``layers`` reads ``stages``) moved to the start of stage i + 1. Empty when the
    keys under ``prefix`` are not in that layout (no ``stages.0.downsample``): ours already."""
    keys = [k for k in keys if k.startswith(prefix)]
    if not any(k.startswith(prefix + 'stages.0.downsample.') for k in keys):
        return {}
    pattern = re.compile(re.escape(prefix) + r'stages\.(\d+)\.downsample\.')
    renames = {}
    for k in keys:
        m = pattern.match(k)
        if m:
            renames[k] = f'{prefix}stages.{int(m.group(1)) + 1}.downsample.{k[m.end():]}'
    return renames


def detect_swin_layout(state: Mapping[str, torch.Tensor]) -> str:
    keys = list(state)
    if any('attn.w_msa.' in k or k.startswith('patch_embed.projection') for k in keys):
        return 'mmdet'
    if any(k.startswith('layers.') for k in keys):
        # official: downsample at the end of layers 0-2; timm >= 0.9: at the start of layers 1-3.
        return 'official' if any(k.startswith('layers.0.downsample') for k in keys) else 'timm'
    if any(k.startswith('stages.') and '.blocks.' in k for k in keys):
        return 'vdense-v1' if swin_keys_from_v1(keys) else 'vdense'
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
            k = re.sub(r'^layers\.', 'stages.', k)  # the official downsample is then moved as mmdet's is
        elif layout == 'mmdet':
            k = k.replace('patch_embed.projection.', 'patch_embed.proj.').replace('.attn.w_msa.', '.attn.')
            k = k.replace('.ffn.layers.0.0.', '.mlp.fc1.').replace('.ffn.layers.1.', '.mlp.fc2.')
            if '.downsample.' in k:
                v = _unfold_to_official(v)
        out[k] = v
    renames = swin_keys_from_v1(out)
    return OrderedDict((renames.get(k, k), v) for k, v in out.items())
