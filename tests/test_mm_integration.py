"""vdense from the outside: registry scope, plain mmdet configs, compat fixes."""
import torch
from mmengine.config import Config


def test_plain_mmdet_config_builds_vdense_backbone(tmp_path):
    # Written as an MMDetection user would: mmdet's own base config, vdense only through custom_imports.
    cfg_file = tmp_path / 'retinanet_user.py'
    cfg_file.write_text(
        "_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'\n"
        "custom_imports = dict(imports=['vdense.models'], allow_failed_imports=False)\n"
        "model = dict(backbone=dict(_delete_=True, type='vdense.ScalableViT', arch='s', out_indices=(1, 2, 3)),\n"
        "             neck=dict(in_channels=[128, 256, 512], start_level=0))\n")
    cfg = Config.fromfile(str(cfg_file))
    import importlib

    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    importlib.import_module(cfg.custom_imports['imports'][0])
    model = MODELS.build(cfg.model)
    from vdense.models import ScalableViT
    assert isinstance(model.backbone, ScalableViT)
    feats = model.extract_feat(torch.randn(1, 3, 96, 128))
    assert [f.shape[1] for f in feats] == [256] * 5


def test_registry_is_a_child_of_mmengine():
    from mmengine.registry import MODELS as ROOT

    from vdense.registry import MODELS
    assert MODELS.parent is ROOT and MODELS.scope == 'vdense'
    import vdense.models  # noqa: F401
    assert ROOT.build(dict(type='vdense.ScalableViT', arch='s')).num_features == [64, 128, 256, 512]


def test_mmengine_checkpoints_load_under_weights_only(tmp_path):
    """mmengine stores HistoryBuffer and numpy objects in its checkpoints; torch's weights_only default must
    accept them once vdense is imported (that is what --resume and load_from do)."""
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer

    import vdense  # noqa: F401
    buf = HistoryBuffer()
    buf.update(np.float64(1.5))
    ckpt = dict(meta=dict(seed=np.int64(3), message_hub=dict(log_scalars={'loss': buf})),
                state_dict={'w': torch.ones(2)})
    torch.save(ckpt, tmp_path / 'c.pth')
    loaded = torch.load(tmp_path / 'c.pth')  # no weights_only=False: the default must work
    assert loaded['meta']['message_hub']['log_scalars']['loss'].mean() == 1.5


class _SneakyGetattr:
    """Pickles as getattr(HistoryBuffer, '__init__'): a step towards arbitrary objects a checkpoint must not take."""

    def __reduce__(self):
        from mmengine.logging.history_buffer import HistoryBuffer
        return getattr, (HistoryBuffer, '__init__')


def test_weights_only_still_refuses_other_getattr(tmp_path):
    import pickle

    import pytest

    import vdense  # noqa: F401
    torch.save({'x': _SneakyGetattr()}, tmp_path / 'evil.pth')
    with pytest.raises(pickle.UnpicklingError, match='not allowed'):
        torch.load(tmp_path / 'evil.pth')


def _train_with_runner_alone(cfg_text, tmp_path):
    """Builds the user's config with mmengine's Runner, no vdense tool involved, and trains a few iterations."""
    from mmengine.runner import Runner
    cfg_file = tmp_path / 'user_config.py'
    cfg_file.write_text(cfg_text)
    cfg = Config.fromfile(str(cfg_file))
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def test_plain_mmseg_config_trains_a_vdense_backbone(tmp_path):
    from vdense.data.demo_shapes import SEG_CLASSES, make_demo_ade
    root = make_demo_ade(str(tmp_path / 'data'), splits={'training': (4, 0)}, size=64)
    runner = _train_with_runner_alone(f"""
_base_ = ['mmseg::_base_/models/upernet_swin.py', 'mmseg::_base_/default_runtime.py']
custom_imports = dict(imports=['vdense.models'], allow_failed_imports=False)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=(64, 64)),
    backbone=dict(_delete_=True, type='vdense.Swin', window_size=4,
                  arch=dict(embed_dims=16, depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8])),
    decode_head=dict(in_channels=[16, 32, 64, 128], channels=16, num_classes={len(SEG_CLASSES)}, norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=64, channels=16, num_classes={len(SEG_CLASSES)}, norm_cfg=norm_cfg))
train_dataloader = dict(
    batch_size=2, num_workers=0, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='BaseSegDataset', data_root='{root}', img_suffix='.jpg', seg_map_suffix='.png',
                 reduce_zero_label=True, metainfo=dict(classes={SEG_CLASSES!r}),
                 data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
                 pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', reduce_zero_label=True),
                           dict(type='PackSegInputs')]))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=3)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-4))
""", tmp_path)
    from vdense.models import Swin
    assert isinstance(runner.model.backbone, Swin) and runner.iter == 3


def test_plain_mmpretrain_config_trains_a_vdense_backbone(tmp_path):
    from vdense.data.demo_shapes import make_demo_imagenet
    root = make_demo_imagenet(str(tmp_path / 'data'), splits={'train': (2, 0)}, size=64)
    runner = _train_with_runner_alone(f"""
_base_ = ['mmpretrain::_base_/default_runtime.py']
custom_imports = dict(imports=['vdense.models'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='vdense.ScalableViT', out_indices=(3,),
                  arch=dict(embed_dims=[16, 32, 64, 128], depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8],
                            c_ratios=[1.25, 1.25, 1.25, 1], window_sizes=[4, 4, 4, 4])),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=4, in_channels=128))
train_dataloader = dict(
    batch_size=4, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CustomDataset', data_root='{root}', data_prefix='train',
                 pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')]))
train_cfg = dict(by_epoch=True, max_epochs=1)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-4))
""", tmp_path)
    from vdense.models import ScalableViT
    assert isinstance(runner.model.backbone, ScalableViT) and runner.iter == 2
