"""Whole released classifiers (backbone + head, the authors' layouts) -> mmpretrain ``ImageClassifier`` state dicts,
so that ``tools/test.py imagenet_*.py their_checkpoint.pth`` evaluates the authors' weights with their own head."""
from collections import OrderedDict
from typing import Callable, Dict, Mapping

import torch

from .scalable_vit import split_official_classifier
from .swin import convert_swin
from .utils import unwrap_state_dict


def _scalable_vit(state):
    parts = split_official_classifier(state)
    return parts['backbone'], OrderedDict(('head.' + k, v) for k, v in parts['head'].items())  # ScalableViTClsHead


def _linear_head(convert_backbone: Callable, head_prefix: str = 'head.'):
    def convert(state):
        head = OrderedDict()
        for k, v in state.items():
            if k.startswith(head_prefix):
                k = k[len(head_prefix):]
                head['fc.' + (k[3:] if k.startswith('fc.') else k)] = v  # official `head.*`, timm `head.fc.*`
        return convert_backbone(state), head  # mmpretrain's LinearClsHead keeps its Linear as ``fc``
    return convert


# backbone type (as in configs, scope prefix dropped) -> official classifier state -> (backbone, head) states
CLASSIFIER_CONVERTERS: Dict[str, Callable] = {
    'ScalableViT': _scalable_vit,
    'Swin': _linear_head(convert_swin),
}


def is_mm_model_checkpoint(state: Mapping[str, torch.Tensor]) -> bool:
    return any(k.startswith('backbone.') for k in state)


def to_image_classifier(checkpoint: Mapping, backbone_type: str) -> Dict[str, torch.Tensor]:
    """The state dict of an mmpretrain ``ImageClassifier`` (``backbone.*``, ``head.*``) from any released layout."""
    state = unwrap_state_dict(checkpoint)
    if is_mm_model_checkpoint(state):
        return state
    family = backbone_type.split('.')[-1]
    if family not in CLASSIFIER_CONVERTERS:
        raise ValueError(f'no classifier converter for {backbone_type!r}: known {sorted(CLASSIFIER_CONVERTERS)}')
    backbone, head = CLASSIFIER_CONVERTERS[family](state)
    out = OrderedDict(('backbone.' + k, v) for k, v in backbone.items())
    out.update(('head.' + k, v) for k, v in head.items())
    return out
