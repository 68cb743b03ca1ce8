"""End to end, as `make demo` runs it: generate the data, train the demo config from scratch, evaluate, draw."""
import glob
import os.path as osp
import re

import pytest

from tests.helpers import DEMO_CONFIG, demo_data_options, run_tool

# The full demo run reaches about 0.6 box mAP on the generated val split (see README); 0.5 is the promise.
MIN_BOX_MAP = 0.5


@pytest.mark.e2e
def test_demo_retinanet_learns(tmp_path):
    data_root = tmp_path / 'data'
    run_tool('make_demo_data.py', '--root', data_root)
    work_dir = tmp_path / 'work'
    run_tool('train.py', DEMO_CONFIG, '--work-dir', work_dir, '--cfg-options', *demo_data_options(data_root / 'coco'),
             timeout=1200)
    ckpt = open(work_dir / 'last_checkpoint').read().strip()
    proc = run_tool('test.py', DEMO_CONFIG, ckpt, '--work-dir', work_dir, '--show-dir', 'vis',
                    '--cfg-options', *demo_data_options(data_root / 'coco'))
    maps = re.findall(r'coco/bbox_mAP: ([0-9.]+)', proc.stdout + proc.stderr)
    assert maps, proc.stdout[-2000:]
    assert float(maps[-1]) >= MIN_BOX_MAP, f'demo box mAP {maps[-1]} < {MIN_BOX_MAP}'
    drawn = glob.glob(osp.join(work_dir, '*', 'vis', '*.jpg'))
    assert len(drawn) == 50
