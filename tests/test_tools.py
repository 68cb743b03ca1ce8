"""tools/train.py and tools/test.py as a user runs them: clear failures, SyncBN in one process, scope from the config
(resume: test_resume_and_data.py, test_distributed.py)."""
import os.path as osp

import pytest

from tests.conftest import ROOT
from tests.helpers import DEMO_CONFIG, demo_data_options, run_in_process, run_tool
from vdense.data.demo_shapes import make_demo_coco


@pytest.fixture(scope='module')
def small_coco(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo')
    return make_demo_coco(str(root), splits={'train': (16, 10), 'val': (8, 11)}, size=128)


# The one-line errors run train.py's main() in this process (the stack imported once), as test_cli.py's do; its
# test_resuming_another_tasks_checkpoint_is_one_line runs the command line as a process of its own.
def test_missing_coco_is_one_clear_message(tmp_path, capsys):
    config = osp.join(ROOT, 'configs', 'retinanet_scalablevit_s.py')
    code, _, err = run_in_process(capsys, 'train', config, '--work-dir', tmp_path,
                                  '--cfg-options', f'train_dataloader.dataset.data_root={tmp_path}/nowhere/')
    assert code == 2
    assert 'Traceback' not in err
    assert 'COCO 2017' in err and 'annotations/instances_train2017.json' in err
    assert 'make demo' in err
    assert not list(tmp_path.glob('*/*.log')), 'nothing is started before the data check'


def test_missing_pretrained_weights_is_one_clear_message(tmp_path, small_coco, capsys):
    code, _, err = run_in_process(capsys, 'train', DEMO_CONFIG, '--work-dir', tmp_path, '--cfg-options',
                                  *demo_data_options(small_coco), 'model.backbone.init_cfg.type=Pretrained',
                                  'model.backbone.init_cfg.checkpoint=pretrained/missing.pth')
    assert code == 2 and 'Traceback' not in err
    assert 'pretrained weights not found: pretrained/missing.pth' in err
    assert 'model.backbone.init_cfg=None' in err


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
