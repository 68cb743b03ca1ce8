import json
import os
import os.path as osp
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
# ../shared sits beside the clone (CI and dev machines); SHARED_DIR overrides.
SHARED = os.environ.get('SHARED_DIR', osp.join(osp.dirname(ROOT), 'shared'))
OFFICIAL_KEYS = osp.join(SHARED, 'ref', 'scalablevit_official_keys.json')


@pytest.fixture(scope='session')
def official_scalable_vit_shapes():
    if not osp.exists(OFFICIAL_KEYS):
        pytest.fail(f'{OFFICIAL_KEYS} not found: shared/ must sit beside the clone (or set SHARED_DIR)')
    with open(OFFICIAL_KEYS) as f:
        return json.load(f)


@pytest.fixture(scope='session')
def demo_root(tmp_path_factory):
    """Every generated demo set (COCO, ADE20K and ImageNet layouts), made once per test session."""
    from tests.helpers import run_tool
    root = tmp_path_factory.mktemp('demo_data')
    run_tool('make_demo_data.py', '--root', root)
    return root
