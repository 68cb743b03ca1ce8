"""End to end, as `make demo` runs it: generate the data, train each demo config from scratch, evaluate, draw.

The demo configs are ScalableViT ones (one family per task, as CI runs them). Not here yet: demo runs of the
other families (to be marked slow, for `make test-all`), and the Mask R-CNN and classifier demos, which do not yet
reach the issue's thresholds in a CI-sized budget."""
import glob
import os.path as osp
import re

import pytest

from tests.conftest import ROOT
from tests.helpers import DEMO_CONFIG, data_root_options, demo_data_options, run_tool

# The full detection demo reaches 0.50-0.59 box mAP on the generated val split (README); 0.5 is the promise.
MIN_BOX_MAP = 0.5


def _train_and_test(config, work_dir, options, show=True):
    run_tool('train.py', config, '--work-dir', work_dir, '--cfg-options', *options, timeout=1500)
    ckpt = open(work_dir / 'last_checkpoint').read().strip()
    extra = ['--show-dir', 'vis'] if show else []
    proc = run_tool('test.py', config, ckpt, '--work-dir', work_dir, *extra, '--cfg-options', *options)
    return proc.stdout + proc.stderr


def _metric(log, name):
    values = re.findall(re.escape(name) + r': ([0-9.]+)', log)
    assert values, f'{name} not in the test log:\n{log[-2000:]}'
    return float(values[-1])


@pytest.mark.e2e
def test_demo_retinanet_learns(tmp_path, demo_root):
    log = _train_and_test(DEMO_CONFIG, tmp_path / 'work', demo_data_options(demo_root / 'coco'))
    box_map = _metric(log, 'coco/bbox_mAP')
    assert box_map >= MIN_BOX_MAP, f'demo box mAP {box_map} < {MIN_BOX_MAP}'
    assert len(glob.glob(osp.join(tmp_path, 'work', '*', 'vis', '*.jpg'))) == 50  # every val image drawn


SEGMENTORS = {  # config -> mIoU (percent, as mmseg prints it) the demo must reach on the generated val split
    'demo/semantic_fpn_scalablevit_demo.py': 50.,
    'demo/upernet_scalablevit_demo.py': 50.,
}


@pytest.mark.e2e
@pytest.mark.parametrize('config', sorted(SEGMENTORS))
def test_demo_segmentor_learns(tmp_path, demo_root, config):
    log = _train_and_test(osp.join(ROOT, 'configs', config), tmp_path / 'work', data_root_options(demo_root / 'ade'))
    miou = _metric(log, 'mIoU')
    assert miou >= SEGMENTORS[config], f'{config}: mIoU {miou} < {SEGMENTORS[config]}'
    assert glob.glob(osp.join(tmp_path, 'work', '**', 'vis', '**', '*.png'), recursive=True)
