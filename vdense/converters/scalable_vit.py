"""ScalableViT checkpoints -> vdense layout.

Our module names follow the authors' code (github Yangr116/ScalableViT) so their released weights load almost
unchanged: only their final ``norm`` becomes the output norm of the last stage (``norm3``), and the 4096-wide
classification head (``head.0/1/3``) is left to the classifier (vdense.ScalableViTClsHead).
"""
from collections import OrderedDict
from typing import Dict, Mapping

import torch

from .utils import strip_backbone_prefix, unwrap_state_dict


def convert_scalable_vit(checkpoint: Mapping, num_stages: int = 4) -> Dict[str, torch.Tensor]:
    """Backbone weights in our layout from an official, vdense backbone-only, or vdense/mm* full checkpoint."""
    state = strip_backbone_prefix(unwrap_state_dict(checkpoint))
    out = OrderedDict()
    for k, v in state.items():
        if k.startswith('head.'):
            continue
        if k.startswith('norm.'):  # the authors' final LayerNorm before pooling = our last output norm
            k = f'norm{num_stages - 1}.' + k[len('norm.'):]
        out[k] = v
    return out

