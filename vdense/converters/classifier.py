"""Whole released classifiers (backbone + head, the authors' layouts) -> mmpretrain ``ImageClassifier`` state dicts,
so that ``tools/test.py imagenet_*.py their_checkpoint.pth`` evaluates the authors' weights with their own head."""
from collections import OrderedDict
from typing import Dict, Mapping

import torch

from .utils import unwrap_state_dict


def _scalable_vit_head(state) -> Dict[str, torch.Tensor]:
    # Their head.0/1/3 (Linear, LN, GELU, Linear) live in ScalableViTClsHead.head under the same indices.
    return OrderedDict((k, v) for k, v in state.items() if k.startswith('head.'))


def _linear_head(state) -> Dict[str, torch.Tensor]:
    """Official ``head.{weight,bias}`` (Swin), ``head.projection.*`` (MViTv2 .pyth), timm/mmpretrain ``head.fc.*``
    -> mmpretrain LinearClsHead's ``fc``."""
    head = OrderedDict()
    for k, v in state.items():
        if k.startswith('head.'):
            name = k.rsplit('.', 1)[-1]
            head['fc.' + name] = v
    return head


HEAD_CONVERTERS = {'ScalableViT': _scalable_vit_head, 'Swin': _linear_head, 'MViT': _linear_head}


def is_mm_model_checkpoint(state: Mapping[str, torch.Tensor]) -> bool:
    return any(k.startswith('backbone.') for k in state)


def to_image_classifier(checkpoint: Mapping, backbone_cfg: dict) -> Dict[str, torch.Tensor]:
    """The state dict of an mmpretrain ``ImageClassifier`` (``backbone.*``, ``head.*``) from any released layout.

    ``backbone_cfg`` is the config's ``model.backbone``: the backbone (built on the meta device, no memory) converts
    its own part with its arch, so every layout its ``init_cfg`` reads works here too.
    """
    state = unwrap_state_dict(checkpoint)
    if is_mm_model_checkpoint(state):
        return state
    from vdense.registry import MODELS
    cfg = dict(backbone_cfg)
    family = cfg['type'].split('.')[-1]
    if family not in HEAD_CONVERTERS:
        raise ValueError(f'no classifier converter for {cfg["type"]!r}: known {sorted(HEAD_CONVERTERS)}')
    cfg.pop('type')
    cfg['init_cfg'] = None
    with torch.device('meta'):
        backbone = MODELS.get(family)(**cfg)  # not build(): that would look in the default scope's registry
    out = OrderedDict(('backbone.' + k, v) for k, v in backbone.convert_checkpoint({'state_dict': state}).items())
    out.update(('head.' + k, v) for k, v in HEAD_CONVERTERS[family](state).items())
    return out


def released_classifier_file(path: str, backbone_cfg: dict, out_dir: str) -> str:
    """``path`` itself when it holds an mmpretrain-layout model; otherwise an authors' released classifier (e.g.
    ScalableViT's ``{'model': ...}`` with its 4096-wide head), converted to the ImageClassifier layout and written
    once to ``out_dir``; returns the file to evaluate."""
    import os
    import os.path as osp

    from vdense.engine.checkpoint_reader import read_checkpoint
    checkpoint = read_checkpoint(path)
    if is_mm_model_checkpoint(unwrap_state_dict(checkpoint)):
        return path
    state = to_image_classifier(checkpoint, backbone_cfg)
    os.makedirs(out_dir, exist_ok=True)
    out = osp.join(out_dir, 'converted_' + osp.splitext(osp.basename(path))[0] + '.pth')
    torch.save({'state_dict': state, 'meta': {'converted_from': path}}, out)
    print(f'vdense: {path} is a released {backbone_cfg["type"]} classifier: converted to the ImageClassifier layout '
          f'({len(state)} tensors) in {out}', flush=True)
    return out
