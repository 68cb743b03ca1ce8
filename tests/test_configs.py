"""Every config in configs/ builds; the demos and each family's smallest variant train one real step on a small input,
the larger variants run forward and backward on the meta device (data paths aside)."""
import copy
import functools
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from tests.conftest import ROOT
from tests.helpers import fewer_training_rois
from vdense.engine.build import build_model_from_config, synthetic_batch

CONFIGS = sorted(p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
                 if '_base_' not in p)

TASKS = ['retinanet_{}.py', 'retinanet_{}_3x.py', 'mask_rcnn_{}.py', 'mask_rcnn_{}_3x.py', 'cascade_mask_rcnn_{}.py',
         'cascade_mask_rcnn_{}_3x.py', 'semantic_fpn_{}.py', 'upernet_{}.py', 'imagenet_{}.py']
VARIANTS = ['scalablevit_s', 'scalablevit_b', 'scalablevit_l', 'swin_t', 'swin_s', 'swin_b', 'swin_l', 'mvitv2_t',
            'mvitv2_s', 'mvitv2_b', 'mvitv2_l']


def test_every_variant_has_every_task():
    names = {osp.basename(p) for p in CONFIGS}
    missing = [t.format(v) for v in VARIANTS for t in TASKS if t.format(v) not in names]
    assert not missing


# A 3x config is its 1x config with another pipeline, schedule and optimizer: its model trains in the 1x's test.
SCHEDULE_VARIANTS = [p for p in CONFIGS if p.endswith('_3x.py')]
CONFIGS_WITH_OWN_MODEL = [p for p in CONFIGS if p not in SCHEDULE_VARIANTS]


@functools.lru_cache(maxsize=None)
def _parsed(path):
    return Config.fromfile(path)


def load(path):
    """The config at ``path``, parsed once per session (half a CPU-second each; four tests read every config)."""
    return copy.deepcopy(_parsed(path))


def _config_id(path):
    return osp.relpath(path, osp.join(ROOT, 'configs'))


# A real training step (CPU, random weights) for the demos and each family's smallest variant in every task; the
# larger variants share those heads, necks and losses: each of them is built and run forward and backward on the
# meta device (shapes only, no arithmetic), which checks everything a variant changes (depths, widths, the neck's
# in_channels, the optimizer's paramwise keys) in a second instead of up to a minute (MViTv2-L Cascade: 49 CPU-s).
SMALLEST_VARIANTS = ('scalablevit_s', 'swin_t', 'mvitv2_t')
TRAINED_A_STEP = [p for p in CONFIGS_WITH_OWN_MODEL
                  if '/demo/' in p or osp.basename(p).endswith(tuple(f'_{v}.py' for v in SMALLEST_VARIANTS))]
SHAPES_ONLY = [p for p in CONFIGS_WITH_OWN_MODEL if p not in TRAINED_A_STEP]


def test_every_family_and_task_trains_a_real_step():
    tasks = {(t, v) for t in TASKS if '3x' not in t for v in SMALLEST_VARIANTS}
    assert {t.format(v) for t, v in tasks} <= {osp.basename(p) for p in TRAINED_A_STEP}


@pytest.mark.parametrize('path', TRAINED_A_STEP, ids=_config_id)
def test_config_builds_and_trains_one_step(path):
    cfg = load(path)
    assert cfg.get('default_scope') in ('mmdet', 'mmseg', 'mmpretrain'), 'each config declares its scope'
    _one_training_step(cfg)


@pytest.mark.parametrize('path', SHAPES_ONLY, ids=_config_id)
def test_config_builds_and_its_shapes_chain_forward_and_backward(path):
    cfg = load(path)
    assert cfg.get('default_scope') in ('mmdet', 'mmseg', 'mmpretrain'), 'each config declares its scope'
    with torch.device('meta'):
        model = build_model_from_config(cfg, init_weights=False)
        model.train()
        x = torch.empty(2, 3, 128, 128)
        if cfg.default_scope == 'mmseg':
            outs = [model._forward(x)]  # backbone, neck, decode head: (B, classes, H/4, W/4)
            assert outs[0].shape == (2, cfg.model.decode_head.num_classes, 32, 32)
        elif cfg.default_scope == 'mmpretrain':
            outs = [model(x, mode='tensor')]
            assert outs[0].shape == (2, cfg.model.head.num_classes)
        else:  # backbone and FPN (two-stage: the RoI heads, the same for every variant, train in the step above)
            outs = model(x, mode='tensor') if 'retinanet' in path else model.extract_feat(x)
            outs = [o for level in outs for o in (level if isinstance(level, (list, tuple)) else [level])]
            assert [tuple(o.shape[-2:]) for o in outs[:5]] == [(128 // s, 128 // s) for s in (8, 16, 32, 64, 128)] \
                if 'retinanet' in path else [(128 // s, 128 // s) for s in (4, 8, 16, 32, 64)]
        sum(o.float().sum() for o in outs).backward()
    # every backbone weight is on the gradient path, except the output norms of levels the neck skips (RetinaNet's
    # FPN starts at stride 8, as mmdet's)
    start_level = cfg.model.get('neck', {}).get('start_level', 0)
    skipped = {f'norm{i}.{w}' for i in range(start_level) for w in ('weight', 'bias')}
    without_grad = {n for n, p in model.backbone.named_parameters() if p.requires_grad and p.grad is None}
    assert without_grad <= skipped, sorted(without_grad - skipped)
    assert all(p.grad.shape == p.shape for p in model.backbone.parameters() if p.grad is not None)
    from mmengine.optim import build_optim_wrapper
    build_optim_wrapper(model, cfg.optim_wrapper)


@pytest.mark.parametrize('path', SCHEDULE_VARIANTS, ids=_config_id)
def test_3x_config_is_its_1x_model_with_its_own_pipeline_and_optimizer(path):
    cfg = load(path)
    one_x = load(path.replace('_3x.py', '.py'))
    assert cfg.model.to_dict() == one_x.model.to_dict()
    assert cfg.train_cfg.max_epochs == 36
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.default_scope)
    Compose(cfg.train_dataloader.dataset.pipeline)  # every transform of the multi-scale pipeline builds
    with torch.device('meta'):  # parameter names and shapes suffice to build the optimizer with its custom keys
        model = build_model_from_config(cfg, init_weights=False)
    from mmengine.optim import build_optim_wrapper
    build_optim_wrapper(model, cfg.optim_wrapper)


@pytest.mark.parametrize('path', [p for p in CONFIGS if '/demo/' not in p], ids=_config_id)
def test_config_states_the_batch_its_lr_was_tuned_for(path):
    # --auto-scale-lr and multi-GPU users rescale from this; without it an 8-GPU lr is silently wrong on 1 GPU.
    cfg = load(path)
    expected = 1024 if cfg.default_scope == 'mmpretrain' else 16
    assert cfg.auto_scale_lr.base_batch_size == expected


# The large variants fit in memory through activation checkpointing: they must train a step with it on.
LARGE_VARIANT_CONFIGS = ['retinanet_scalablevit_l.py', 'mask_rcnn_scalablevit_l_3x.py', 'mask_rcnn_mvitv2_l_3x.py']


@pytest.mark.parametrize('name', LARGE_VARIANT_CONFIGS)
def test_large_variant_trains_a_step_with_checkpointing(name):
    cfg = load(osp.join(ROOT, 'configs', name))
    cfg.model.backbone.with_cp = True
    model = _one_training_step(cfg)
    assert model.backbone.with_cp


def _one_training_step(cfg):
    fewer_training_rois(cfg)
    model = build_model_from_config(cfg)  # no pretrained weights read; SyncBN as BN, as tools/train.py does
    model.train()
    if cfg.default_scope == 'mmseg':  # the crop size the preprocessor pads to: a small one for the test
        model.data_preprocessor.size = (128, 128)
    data = model.data_preprocessor(synthetic_batch(cfg), training=True)
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
