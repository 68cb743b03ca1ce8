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
