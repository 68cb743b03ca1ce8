"""MViTv2 checkpoints (official facebookresearch/mvit ``.pyth``, timm ``mvitv2_*``, mmpretrain ``MViT``, vdense's
layout before version 2) -> ours.

Ours: ``patch_embed.proj``, ``stages.i.blocks.j.{norm1, attn.{qkv, pool_q/k/v, norm_q/k/v, rel_pos_h, rel_pos_w,
proj}, norm2, mlp.{fc1, fc2}, proj}`` (``proj``: the skip projection where channels grow), plus output norms
``norm{i}``; timm's layout with its skip projections ``shortcut_proj_attn/mlp`` renamed ``proj``. The official,
mmpretrain and vdense-before-2 layouts number the blocks flat (``blocks.N``). The official final ``norm`` (and
timm's) is our last output norm; mmpretrain's ``norm{i}`` are ours as they are.
"""
import re
from collections import OrderedDict
from typing import Dict, Iterable, Mapping, Sequence

import torch

from .utils import strip_backbone_prefix, unwrap_state_dict


def mvit_keys_from_v1(keys: Iterable[str], depths: Sequence[int], prefix: str = '') -> Dict[str, str]:
    """``{old: new}`` for the flat block keys under ``prefix`` (vdense before version 2, the official and mmpretrain
    layouts): ``blocks.N`` -> ``stages.i.blocks.j`` for a model with ``depths`` blocks per stage. Blocks beyond
    ``sum(depths)`` are left as they are (reported as unexpected when loaded)."""
    where = [(i, j) for i, depth in enumerate(depths) for j in range(depth)]
    pattern = re.compile(re.escape(prefix) + r'blocks\.(\d+)\.')
    renames = {}
    for k in keys:
        m = pattern.match(k)
        if m and int(m.group(1)) < len(where):
            i, j = where[int(m.group(1))]
            renames[k] = f'{prefix}stages.{i}.blocks.{j}.{k[m.end():]}'
    return renames


def detect_mvit_layout(state: Mapping[str, torch.Tensor]) -> str:
    keys = list(state)
    # The releases keep one final ``norm`` and their ``head``; a vdense export has ``norm{i}`` only.
    released = any(k.startswith(('norm.', 'head.')) for k in keys)
    if any(k.startswith('stages.') and '.blocks.' in k for k in keys):
        return 'timm' if released or any('.shortcut_proj_' in k for k in keys) else 'vdense'
    if any(k.startswith('patch_embed.projection.') for k in keys):
        return 'mmpretrain'
    if any(k.startswith('blocks.') for k in keys):
        return 'official' if released else 'vdense-v1'
    raise ValueError(f'not an MViT checkpoint: first keys {keys[:5]}')


def convert_mvit(checkpoint: Mapping, depths: Sequence[int]) -> Dict[str, torch.Tensor]:
    """Backbone weights in our layout from any supported layout (``model_state``/``state_dict`` wrappers and
    ``backbone.``-prefixed detector/classifier checkpoints included). ``depths``: blocks per stage of the target."""
    state = strip_backbone_prefix(unwrap_state_dict(checkpoint))
    layout = detect_mvit_layout(state)
    last_norm = f'norm{len(depths) - 1}.'
    out = OrderedDict()
    for k, v in state.items():
        if k.startswith('head.'):
            continue  # classifier head
        if k.startswith('norm.'):  # official / timm final norm
            k = last_norm + k[len('norm.'):]
        if layout == 'timm':
            k = re.sub(r'\.shortcut_proj_(attn|mlp)\.', '.proj.', k)
        elif layout == 'mmpretrain':
            k = k.replace('patch_embed.projection.', 'patch_embed.proj.')
        out[k] = v
    renames = mvit_keys_from_v1(out, depths)
    return OrderedDict((renames.get(k, k), v) for k, v in out.items())
