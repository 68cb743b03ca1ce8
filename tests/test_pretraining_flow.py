"""The pretraining flow on generated data: classifier -> exported backbone -> detector started from it."""
import glob
import json
import os.path as osp
import re
import statistics

import pytest

from tests.helpers import DEMO_CONFIG, run_tool


def _training_losses(work_dir) -> dict:
    """Logged training loss per step (train.py's run; test.py's runs log no loss)."""
    losses = {}
    for scalars in glob.glob(osp.join(str(work_dir), '*', 'vis_data', 'scalars.json')):
        with open(scalars) as f:
            losses.update((row['step'], row['loss']) for row in map(json.loads, f) if 'loss' in row)
    return losses


@pytest.mark.e2e
@pytest.mark.trains_demo('imagenet', 'retinanet')
def test_classifier_backbone_starts_a_detector(tmp_path, trained_demos):
    # 1. Pretrain: the demo classifier (the same backbone arch as the demo RetinaNet's), as test_e2e_demo.py
    #    trains it.
    classifier, scratch_run = trained_demos.get('imagenet'), trained_demos.get('retinanet')

    # 2. Export the backbone alone: no head, no optimizer state, a content-hash name.
    proc = run_tool('export_backbone.py', classifier.checkpoint, tmp_path / 'backbone.pth')
    assert 'all keys matched' in proc.stdout
    exported, = glob.glob(str(tmp_path / 'backbone-*.pth'))

    # 3. The demo RetinaNet from the exported backbone for one epoch over 600 of the 1000 training images (150
    #    steps), against the same steps of the demo from scratch (test_e2e_demo.py's run: same seed and schedule;
    #    in the first epoch the schedule depends neither on max_epochs nor on the epoch's length). Measured: the
    #    mean smoothed loss over steps 10-100 was 1.31 pretrained vs 1.40 from scratch, and 1.41 from scratch on a
    #    400-image subset (the subset alone moves it by ~0.01); at step 150 0.88 vs 1.11, at 250 0.58 vs 1.00.
    work_dir = tmp_path / 'pretrained'
    run_tool('train.py', DEMO_CONFIG, '--work-dir', work_dir, '--cfg-options', 'train_cfg.max_epochs=1',
             *scratch_run.options, 'train_dataloader.dataset.indices=600', 'model.backbone.init_cfg.type=Pretrained',
             f'model.backbone.init_cfg.checkpoint={exported}', timeout=1200)
    log = open(glob.glob(osp.join(str(work_dir), '*', '*.log'))[0]).read()

    # Every exported tensor loads; what the detector has on top is only the output norms of the stages the
    # classifier did not output (it pools stage 4 through norm3).
    loaded = re.search(r'ScalableViT: loaded (\d+)/(\d+) tensors from \S+; (.*)', log)
    assert loaded, 'the backbone did not report loading the exported checkpoint'
    missing = re.findall(r'norm[012]\.(?:weight|bias)', loaded.group(3))
    assert 'unexpected' not in loaded.group(3) and 'mismatch' not in loaded.group(3)
    assert int(loaded.group(2)) - int(loaded.group(1)) == len(missing) == 6
    pretrained_losses, scratch_losses = _training_losses(work_dir), _training_losses(scratch_run.work_dir)
    assert len(pretrained_losses) == 15, f'150 steps logged every 10 expected in {work_dir}'
    assert set(pretrained_losses) <= set(scratch_losses), 'the two runs logged different steps'
    pretrained = statistics.mean(pretrained_losses.values())
    scratch = statistics.mean(scratch_losses[step] for step in pretrained_losses)
    print(f"mean training loss over the first epoch: pretrained {pretrained:.3f}, scratch {scratch:.3f}")
    assert pretrained < scratch, f'mean loss over the epoch: pretrained {pretrained:.3f} vs scratch {scratch:.3f}'
