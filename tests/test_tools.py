"""tools/train.py and tools/test.py as a user runs them: clear failures, resume, scope from the config."""
import os.path as osp

import pytest
import torch

from tests.helpers import DEMO_CONFIG, demo_data_options, run_tool
from vdense.data.demo_shapes import make_demo_coco


@pytest.fixture(scope='module')
def small_coco(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo')
    return make_demo_coco(str(root), splits={'train': (16, 10), 'val': (8, 11)}, size=128)


def test_missing_coco_is_one_clear_message(tmp_path):
    proc = run_tool('train.py', 'configs/retinanet_scalablevit_s.py', '--work-dir', tmp_path,
                    '--cfg-options', f'train_dataloader.dataset.data_root={tmp_path}/nowhere/', check=False)
    assert proc.returncode == 2
    assert 'Traceback' not in proc.stderr
    assert 'COCO 2017' in proc.stderr and 'annotations/instances_train2017.json' in proc.stderr
    assert 'make demo' in proc.stderr
    assert not list(tmp_path.glob('*/*.log')), 'nothing is started before the data check'


def test_missing_pretrained_weights_is_one_clear_message(tmp_path, small_coco):
    proc = run_tool('train.py', DEMO_CONFIG, '--work-dir', tmp_path, '--cfg-options', *demo_data_options(small_coco),
                    'model.backbone.init_cfg.type=Pretrained',
                    'model.backbone.init_cfg.checkpoint=pretrained/missing.pth', check=False)
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    assert 'pretrained weights not found: pretrained/missing.pth' in proc.stderr
    assert 'model.backbone.init_cfg=None' in proc.stderr


def test_resume_continues_an_interrupted_run(tmp_path, small_coco):
    common = ['--work-dir', tmp_path, '--cfg-options', *demo_data_options(small_coco),
              'train_dataloader.batch_size=4', 'val_dataloader.batch_size=4', 'test_dataloader.batch_size=4',
              'default_hooks.checkpoint.interval=1', 'default_hooks.checkpoint.max_keep_ckpts=5',
              'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
              'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
              # 12 iterations from scratch leave every score under the default 0.05; keep them all so the
              # evaluation has detections to score and reports its metrics.
              'model.test_cfg.score_thr=0.0']
    # The "interrupted" run stops after epoch 2 of 3.
    run_tool('train.py', DEMO_CONFIG, *common, 'train_cfg.max_epochs=2', 'train_cfg.val_interval=10')
    first = torch.load(tmp_path / 'epoch_2.pth', map_location='cpu')
    assert first['meta']['epoch'] == 2 and first['meta']['iter'] == 8
    proc = run_tool('train.py', DEMO_CONFIG, *common, 'train_cfg.max_epochs=3', 'train_cfg.val_interval=3',
                    '--resume')
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 2, iter: 8' in log
    resumed = torch.load(tmp_path / 'epoch_3.pth', map_location='cpu')
    assert resumed['meta']['epoch'] == 3 and resumed['meta']['iter'] == 12
    # The optimizer state went on from where it was, not from zero.
    steps = [s['step'] for s in resumed['optimizer']['state'].values()]
    assert steps and all(float(s) == 12 for s in steps)
    assert 'coco/bbox_mAP' in log

    # load_from + test.py on the mmengine checkpoint (the weights_only compat path), with --out.
    out = tmp_path / 'preds.pkl'
    proc = run_tool('test.py', DEMO_CONFIG, tmp_path / 'epoch_3.pth', '--work-dir', tmp_path / 'test', '--out', out,
                    '--cfg-options', *demo_data_options(small_coco), 'test_dataloader.num_workers=0',
                    'test_dataloader.persistent_workers=False', 'model.test_cfg.score_thr=0.0')
    assert 'coco/bbox_mAP' in proc.stdout + proc.stderr
    assert osp.getsize(out) > 0


def test_sync_bn_runs_as_plain_bn_in_one_process(capsys):
    from mmengine.config import Config

    from vdense.engine.cli import fall_back_from_sync_bn
    cfg = Config(dict(launcher='none', model=dict(
        decode_head=dict(type='UPerHead', norm_cfg=dict(type='SyncBN', requires_grad=True)),
        auxiliary_head=[dict(type='FCNHead', norm_cfg=dict(type='SyncBN'))],
        backbone=dict(type='vdense.Swin', norm_cfg=dict(type='LN')))))
    assert fall_back_from_sync_bn(cfg) == 2
    assert cfg.model.decode_head.norm_cfg.type == 'BN' and cfg.model.auxiliary_head[0].norm_cfg.type == 'BN'
    assert cfg.model.backbone.norm_cfg.type == 'LN'
    assert capsys.readouterr().out.count('\n') == 1  # one line, not one per layer


def test_train_py_falls_back_from_sync_bn(tmp_path, small_coco):
    # A user's config declaring SyncBN the way 8-GPU configs do, run in one process.
    config = tmp_path / 'sync_bn_head.py'
    config.write_text(f"_base_ = {DEMO_CONFIG!r}\n"
                      "model = dict(bbox_head=dict(norm_cfg=dict(_delete_=True, type='SyncBN', requires_grad=True)))\n")
    proc = run_tool('train.py', config, '--work-dir', tmp_path / 'work', '--cfg-options',
                    *demo_data_options(small_coco), 'train_cfg.max_epochs=1', 'train_dataloader.batch_size=4',
                    'train_cfg.val_interval=10')
    log = proc.stdout + proc.stderr
    assert 'vdense: single process: 1 SyncBN norm config(s) run as plain BN' in log
    assert 'Epoch(train) [1][4/4]' in log
