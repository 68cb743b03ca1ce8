"""ScalableViT checkpoints (the authors', vdense's before and since version 2) -> ours.

Ours: the stem ``patch_embed.{proj,norm}``, ``stages.i.downsample.{proj,norm}`` (the patch embedding that starts
stage i >= 1), ``stages.i.blocks.j.{norm1,attn.*,norm2,mlp.{fc1,fc2}}``, ``stages.i.pos_block.proj.0`` (the PEG
after block 0) and output norms ``norm{i}``. The module names inside the blocks follow the authors' code (github
Yangr116/ScalableViT); their stage layout (``patch_embeds.i``, ``pos_block.i``, ``stages.i.j``), which vdense kept
before version 2, is renamed; their final ``norm`` becomes the output norm of the last stage (``norm3``), and the
4096-wide classification head (``head.0/1/3``) is left to the classifier (vdense.ScalableViTClsHead).
"""
import re
from collections import OrderedDict
from typing import Dict, Iterable, Mapping

import torch

from .utils import strip_backbone_prefix, unwrap_state_dict

_V1 = re.compile(r'(patch_embeds|pos_block|stages)\.(\d+)\.(?:(\d+)\.)?')


def scalable_vit_keys_from_v1(keys: Iterable[str], prefix: str = '') -> Dict[str, str]:
    """``{old: new}`` for the keys under ``prefix`` in the authors' stage layout (vdense's before version 2):
    ``patch_embeds.0`` -> ``patch_embed``, ``patch_embeds.i`` -> ``stages.i.downsample``, ``pos_block.i`` ->
    ``stages.i.pos_block``, ``stages.i.j`` -> ``stages.i.blocks.j``. Keys already in ours are left out."""
    renames = {}
    for k in keys:
        if not k.startswith(prefix):
            continue
        m = _V1.match(k, len(prefix))
        if m is None:
            continue
        kind, i, j = m.group(1), int(m.group(2)), m.group(3)
        if kind == 'patch_embeds':
            new = 'patch_embed.' if i == 0 else f'stages.{i}.downsample.'
        elif kind == 'pos_block':
            new = f'stages.{i}.pos_block.'
        elif j is not None:
            new = f'stages.{i}.blocks.{j}.'
        else:
            continue  # stages.i.blocks/downsample/pos_block: ours
        renames[k] = prefix + new + k[m.end():]
    return renames


def convert_scalable_vit(checkpoint: Mapping, num_stages: int = 4) -> Dict[str, torch.Tensor]:
    """Backbone weights in our layout from an official, vdense backbone-only, or vdense/mm* full checkpoint."""
    state = strip_backbone_prefix(unwrap_state_dict(checkpoint))
    renames = scalable_vit_keys_from_v1(state)
    out = OrderedDict()
    for k, v in state.items():
        if k.startswith('head.'):
            continue
        if k.startswith('norm.'):  # the authors' final LayerNorm before pooling = our last output norm
            k = f'norm{num_stages - 1}.' + k[len('norm.'):]
        out[renames.get(k, k)] = v
    return out
