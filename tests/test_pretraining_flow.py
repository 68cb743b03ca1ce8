"""The pretraining flow on generated data: classifier -> exported backbone -> detector started from it."""
import glob
import json
import os.path as osp
import re
import statistics

import pytest

from tests.conftest import ROOT
from tests.helpers import DEMO_CONFIG, data_root_options, demo_data_options, run_tool

CLASSIFIER = osp.join(ROOT, 'configs', 'demo', 'imagenet_scalablevit_demo.py')


def _mean_training_loss(work_dir) -> float:
    scalars, = glob.glob(osp.join(str(work_dir), '*', 'vis_data', 'scalars.json'))
    with open(scalars) as f:
        losses = [row['loss'] for row in map(json.loads, f) if 'loss' in row]
    assert len(losses) >= 4, f'too few logged losses in {scalars}'
    return statistics.mean(losses)


@pytest.mark.e2e
def test_classifier_backbone_starts_a_detector(tmp_path, demo_root):
    # 1. Pretrain: two epochs of the demo classifier (the same backbone arch as the demo RetinaNet's).
    cls_dir = tmp_path / 'cls'
    run_tool('train.py', CLASSIFIER, '--work-dir', cls_dir, '--cfg-options', 'train_cfg.max_epochs=2',
             'train_cfg.val_interval=2', *data_root_options(demo_root / 'imagenet'), timeout=1200)
    checkpoint = open(cls_dir / 'last_checkpoint').read().strip()

    # 2. Export the backbone alone: no head, no optimizer state, a content-hash name.
    proc = run_tool('export_backbone.py', checkpoint, tmp_path / 'backbone.pth')
    assert 'all keys matched' in proc.stdout
    exported, = glob.glob(str(tmp_path / 'backbone-*.pth'))

    # 3. One epoch of the demo RetinaNet from the exported backbone, and one from scratch, same seed and data.
    def detector(work_dir, *extra):
        run_tool('train.py', DEMO_CONFIG, '--work-dir', work_dir, '--cfg-options', 'train_cfg.max_epochs=1',
                 'train_cfg.val_interval=1', *demo_data_options(demo_root / 'coco'), *extra, timeout=1200)
        return open(glob.glob(osp.join(str(work_dir), '*', '*.log'))[0]).read()

    log = detector(tmp_path / 'pretrained', 'model.backbone.init_cfg.type=Pretrained',
                   f'model.backbone.init_cfg.checkpoint={exported}')
    detector(tmp_path / 'scratch')

    # Every exported tensor loads; what the detector has on top is only the output norms of the stages the
    # classifier did not output (it pools stage 4 through norm3).
    loaded = re.search(r'ScalableViT: loaded (\d+)/(\d+) tensors from \S+; (.*)', log)
    assert loaded, 'the backbone did not report loading the exported checkpoint'
    missing = re.findall(r'norm[012]\.(?:weight|bias)', loaded.group(3))
    assert 'unexpected' not in loaded.group(3) and 'mismatch' not in loaded.group(3)
    assert int(loaded.group(2)) - int(loaded.group(1)) == len(missing) == 6
    pretrained, scratch = _mean_training_loss(tmp_path / 'pretrained'), _mean_training_loss(tmp_path / 'scratch')
    print(f"mean training loss over the epoch: pretrained {pretrained:.3f}, scratch {scratch:.3f}")
    assert pretrained < scratch, f'mean loss over the epoch: pretrained {pretrained:.3f} vs scratch {scratch:.3f}'
