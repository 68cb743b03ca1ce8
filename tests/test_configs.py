"""Every config in configs/ builds, and its model runs one training step on a small input (data paths aside)."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from tests.conftest import ROOT

CONFIGS = sorted(p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
                 if '_base_' not in p)


def _strip_pretrained(node):
    if isinstance(node, dict):
        if isinstance(node.get('init_cfg'), dict) and node['init_cfg'].get('type') == 'Pretrained':
            node['init_cfg'] = None
        for v in node.values():
            _strip_pretrained(v)


def _det_batch(model, size=128, num_classes=80):
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    samples = []
    for _ in range(2):
        s = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size),
                                        batch_input_shape=(size, size), scale_factor=(1., 1.)))
        s.gt_instances = InstanceData(bboxes=torch.tensor([[10., 20., 70., 90.]]),
                                      labels=torch.tensor([num_classes - 1]))
        samples.append(s)
    return dict(inputs=[torch.randint(0, 255, (3, size, size), dtype=torch.uint8) for _ in range(2)],
                data_samples=samples)


def test_there_are_configs():
    names = {osp.basename(p) for p in CONFIGS}
    for v in 'sbl':
        assert f'retinanet_scalablevit_{v}.py' in names and f'retinanet_scalablevit_{v}_3x.py' in names


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, osp.join(ROOT, 'configs')))
def test_config_builds_and_trains_one_step(path):
    cfg = Config.fromfile(path)
    assert cfg.get('default_scope') in ('mmdet', 'mmseg', 'mmpretrain'), 'each config declares its scope'
    _one_training_step(cfg)


@pytest.mark.parametrize('path', [p for p in CONFIGS if '/demo/' not in p],
                         ids=lambda p: osp.relpath(p, osp.join(ROOT, 'configs')))
def test_config_states_the_batch_its_lr_was_tuned_for(path):
    # --auto-scale-lr and multi-GPU users rescale from this; without it an 8-GPU lr is silently wrong on 1 GPU.
    cfg = Config.fromfile(path)
    assert cfg.auto_scale_lr.base_batch_size == 16


# The large variants fit in memory through activation checkpointing: they must train a step with it on.
LARGE_VARIANT_CONFIGS = ['retinanet_scalablevit_l.py', 'retinanet_scalablevit_l_3x.py']


@pytest.mark.parametrize('name', LARGE_VARIANT_CONFIGS)
def test_large_variant_trains_a_step_with_checkpointing(name):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    cfg.model.backbone.with_cp = True
    model = _one_training_step(cfg)
    assert model.backbone.with_cp


def _one_training_step(cfg):
    _strip_pretrained(cfg.model)
    init_default_scope(cfg.default_scope)
    from mmengine.registry import MODELS, OPTIM_WRAPPERS  # noqa: F401
    import importlib
    for module in cfg.get('custom_imports', {}).get('imports', []):
        importlib.import_module(module)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    num_classes = cfg.model.get('bbox_head', {}).get('num_classes', 80)
    data = model.data_preprocessor(_det_batch(model, num_classes=num_classes), training=True)
    losses = model(**data, mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k and torch.is_tensor(v) and v.dim() == 0) + \
        sum(sum(v) for k, v in losses.items() if 'loss' in k and isinstance(v, list))
    assert torch.isfinite(total)
    total.backward()
    assert any(p.grad is not None for p in model.backbone.parameters())
    # And the optimizer settings it declares build (paramwise custom keys included).
    from mmengine.optim import build_optim_wrapper
    build_optim_wrapper(model, cfg.optim_wrapper)
    return model
