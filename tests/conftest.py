import json
import os.path as osp
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
# Key names and shapes of the authors' released ScalableViT checkpoints (read from their files once; kept here so
# the tests need nothing outside the clone).
OFFICIAL_KEYS = osp.join(ROOT, 'tests', 'data', 'scalablevit_official_keys.json')


@pytest.fixture(scope='session')
def official_scalable_vit_shapes():
    with open(OFFICIAL_KEYS) as f:
        return json.load(f)


@pytest.fixture(scope='session')
def demo_root(tmp_path_factory):
    """Every generated demo set (COCO, ADE20K and ImageNet layouts), made once per test session."""
    from tests.helpers import run_tool
    root = tmp_path_factory.mktemp('demo_data')
    run_tool('make_demo_data.py', '--root', root)
    return root
