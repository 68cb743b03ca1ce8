"""Distributed training and testing through torchrun (tools/dist_train.sh, tools/dist_test.sh) with 2 CPU processes
on loopback (gloo): what 8 GPUs or several machines do, at a size a 2-core CI machine runs in seconds."""
import os
import os.path as osp
import pickle
import socket
import subprocess

import pytest
import torch

from tests.conftest import ROOT
from tests.helpers import DEMO_CONFIG, demo_data_options
from vdense.data.demo_shapes import make_demo_coco

NUM_VAL = 9  # odd: 2 ranks see 5 + 5 with one repeated; the metric must count each image once


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _dist(script, *args):
    env = dict(os.environ, PYTHONWARNINGS='ignore', PORT=str(_free_port()))
    proc = subprocess.run(['bash', osp.join(ROOT, 'tools', script), *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{script} exited {proc.returncode}:\n{log[-4000:]}'
    return log


@pytest.fixture(scope='module')
def coco(tmp_path_factory):
    root = tmp_path_factory.mktemp('dist')
    return make_demo_coco(str(root), splits={'train': (16, 10), 'val': (NUM_VAL, 11)}, size=128)


def test_two_processes_train_resume_and_test(tmp_path, coco):
    work = tmp_path / 'work'
    common = ['--work-dir', work, '--cfg-options', *demo_data_options(coco),
              'train_dataloader.batch_size=2', 'val_dataloader.batch_size=2', 'test_dataloader.batch_size=2',
              'default_hooks.checkpoint.interval=1', 'default_hooks.checkpoint.max_keep_ckpts=5',
              'model.test_cfg.score_thr=0.0']  # a few iterations from scratch score under 0.05: keep all boxes
    # 16 images / (2 processes x 2) = 4 iterations per epoch.
    log = _dist('dist_train.sh', DEMO_CONFIG, 2, *common, 'train_cfg.max_epochs=2', 'train_cfg.val_interval=10')
    # The environment block goes to the run's log file, not the console (vdense.engine.cli.build_runner).
    run_log = '\n'.join(p.read_text() for p in work.glob('*/*.log'))
    assert 'Distributed launcher: pytorch' in run_log and 'Distributed training: True' in run_log
    first = torch.load(work / 'epoch_2.pth', map_location='cpu', weights_only=False)
    assert first['meta']['iter'] == 8, 'each process runs 4 iterations per epoch on its half of the data'
    # Rank 0 alone writes: one run directory, one file per checkpoint.
    assert sorted(p.name for p in work.iterdir() if p.suffix == '.pth') == ['epoch_1.pth', 'epoch_2.pth']
    assert len([p for p in work.iterdir() if p.is_dir()]) == 1

    log = _dist('dist_train.sh', DEMO_CONFIG, 2, *common, 'train_cfg.max_epochs=3', 'train_cfg.val_interval=3',
                '--resume')
    assert 'resumed epoch: 2, iter: 8' in log
    resumed = torch.load(work / 'epoch_3.pth', map_location='cpu', weights_only=False)
    assert resumed['meta']['epoch'] == 3 and resumed['meta']['iter'] == 12
    assert 'coco/bbox_mAP' in log

    out = tmp_path / 'preds.pkl'
    log = _dist('dist_test.sh', DEMO_CONFIG, work / 'epoch_3.pth', 2, '--work-dir', tmp_path / 'test',
                '--out', out, '--cfg-options', *demo_data_options(coco), 'test_dataloader.batch_size=2',
                'model.test_cfg.score_thr=0.0')
    assert 'coco/bbox_mAP' in log
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    # Gathered from both ranks, the padding sample dropped: every val image exactly once.
    assert sorted(p['img_id'] for p in preds) == list(range(1, NUM_VAL + 1))
