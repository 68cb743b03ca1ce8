"""MViTv2 checkpoints (official facebookresearch/mvit ``.pyth``, timm ``mvitv2_*``, mmpretrain ``MViT``) -> ours.

Ours keeps the official flat layout: ``patch_embed.proj``, ``blocks.N.{norm1, attn.{qkv, pool_q/k/v, norm_q/k/v,
rel_pos_h, rel_pos_w, proj}, norm2, mlp.{fc1, fc2}, proj}`` (``proj``: the skip projection where channels grow),
plus output norms ``norm{i}``. The official final ``norm`` (and timm's) is our last output norm; mmpretrain's
``norm{i}`` are ours as they are.
"""
import re
from collections import OrderedDict
from typing import Dict, Mapping, Sequence

import torch

from .utils import strip_backbone_prefix, unwrap_state_dict


def detect_mvit_layout(state: Mapping[str, torch.Tensor]) -> str:
    keys = list(state)
    if any(k.startswith('stages.') and '.blocks.' in k for k in keys):
        return 'timm'
    if any(k.startswith('patch_embed.projection.') for k in keys):
        return 'mmpretrain'
    if any(k.startswith('blocks.') for k in keys):
        # The release keeps one final ``norm`` and its ``head``; a vdense export has ``norm{i}`` only.
        return 'official' if any(k.startswith(('norm.', 'head.')) for k in keys) else 'vdense'
    raise ValueError(f'not an MViT checkpoint: first keys {keys[:5]}')


def convert_mvit(checkpoint: Mapping, depths: Sequence[int]) -> Dict[str, torch.Tensor]:
    """Backbone weights in our layout from any supported layout (``model_state``/``state_dict`` wrappers and
    ``backbone.``-prefixed detector/classifier checkpoints included). ``depths``: blocks per stage of the target."""
    state = strip_backbone_prefix(unwrap_state_dict(checkpoint))
    layout = detect_mvit_layout(state)
    first_block = [sum(depths[:i]) for i in range(len(depths))]
    last_norm = f'norm{len(depths) - 1}.'
    out = OrderedDict()
    for k, v in state.items():
        if k.startswith('head.'):
            continue  # classifier head
        if k.startswith('norm.'):  # official / timm final norm
            k = last_norm + k[len('norm.'):]
        if layout == 'timm':
            m = re.match(r'stages\.(\d+)\.blocks\.(\d+)\.(.*)', k)
            if m:
                stage, block, rest = int(m.group(1)), int(m.group(2)), m.group(3)
                if stage >= len(depths):
                    raise ValueError(f'{k}: the checkpoint has more stages than depths {list(depths)}')
                rest = re.sub(r'^shortcut_proj_(attn|mlp)\.', 'proj.', rest)
                k = f'blocks.{first_block[stage] + block}.{rest}'
        elif layout == 'mmpretrain':
            k = k.replace('patch_embed.projection.', 'patch_embed.proj.')
        out[k] = v
    return out
