"""End to end, as `make demo` runs it: generate the data, train each demo config from scratch, evaluate, draw.

`make test` trains the ScalableViT demos (one family per task, as CI runs them) once per session, in the background
while the other tests run (tests/conftest.py, `trained_demos`; the pretraining flow reuses them); `make test-all`
adds the same demos on a Swin and an MViTv2 of the same size (marked slow)."""
import glob
import os.path as osp
import pickle
import re

import pytest

from tests.conftest import ROOT
from tests.helpers import data_root_options, demo_data_options, run_tool

# task -> (generated data set, {metric as the tools print it: the least the demo must reach on its val split}).
# mmdet prints mAP as a fraction, mmseg and mmpretrain print percentages.
DEMOS = {
    'retinanet': ('coco', {'coco/bbox_mAP': 0.5}),
    'mask_rcnn': ('coco', {'coco/bbox_mAP': 0.4, 'coco/segm_mAP': 0.4}),
    'semantic_fpn': ('ade', {'mIoU': 50.}),
    'upernet': ('ade', {'mIoU': 50.}),
    'imagenet': ('imagenet', {'accuracy/top1': 80.}),
}
OTHER_FAMILIES = ('swin', 'mvitv2')


def _train_and_test(config, work_dir, options):
    # the slowest demo (Mask R-CNN on Swin, 8 epochs) trains about 21 minutes on 2 cores
    run_tool('train.py', config, '--work-dir', work_dir, '--cfg-options', *options, timeout=2700)
    ckpt = open(work_dir / 'last_checkpoint').read().strip()
    proc = run_tool('test.py', config, ckpt, '--work-dir', work_dir, '--show-dir', 'vis', '--cfg-options', *options)
    return proc.stdout + proc.stderr


def _metric(log, name):
    values = re.findall(re.escape(name) + r': ([0-9.]+)', log)
    assert values, f'{name} not in the test log:\n{log[-2000:]}'
    return float(values[-1])


def _check_demo(task, config, log, work_dir):
    data, minimums = DEMOS[task]
    reached = {name: _metric(log, name) for name in minimums}
    missed = {name: value for name, value in reached.items() if value < minimums[name]}
    assert not missed, f'{osp.basename(config)}: {missed} below {minimums}'
    print(f'{osp.basename(config)}: {reached}')
    drawn = [f for f in glob.glob(osp.join(work_dir, '**', 'vis', '**', '*'), recursive=True) if osp.isfile(f)]
    if data == 'coco':
        assert len(drawn) == 50, f'{len(drawn)} of the 50 val images drawn'
    else:
        assert drawn, 'test.py --show-dir drew nothing'


def _demo_learns(task, family, demo_root, work_dir):
    data, _ = DEMOS[task]
    config = osp.join(ROOT, 'configs', 'demo', f'{task}_{family}_demo.py')
    options = demo_data_options(demo_root / data) if data == 'coco' else data_root_options(demo_root / data)
    _check_demo(task, config, _train_and_test(config, work_dir, options), work_dir)


@pytest.mark.e2e
@pytest.mark.parametrize('task', [pytest.param(task, marks=pytest.mark.trains_demo(task)) for task in sorted(DEMOS)])
def test_demo_learns(trained_demos, task):
    demo = trained_demos.get(task)  # trained and tested as `make demo` does, once per session
    _check_demo(task, demo.config, demo.test_log, demo.work_dir)
    # The metrics test.py printed last, as the log has them (mmseg's numpy scalars used to print 'no metrics').
    summary, = [line for line in demo.test_log.splitlines() if line.startswith(f'vdense: {demo.checkpoint}: ')]
    for name in DEMOS[task][1]:
        assert f'{name} {_metric(demo.test_log, name):.4f}' in summary, summary
    # test.py --out (one process): every val image's prediction exactly once, where the last line says.
    out = demo.work_dir / 'predictions.pkl'
    assert f'vdense: predictions in {out}' in demo.test_log
    with open(out, 'rb') as f:
        predictions = pickle.load(f)
    paths = [p['img_path'] for p in predictions]
    assert paths and len(set(paths)) == len(paths)
    if DEMOS[task][0] == 'coco':
        assert sorted(p['img_id'] for p in predictions) == list(range(1, 51))


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.parametrize('family', OTHER_FAMILIES)
@pytest.mark.parametrize('task', sorted(DEMOS))
def test_demo_learns_with_every_family(tmp_path, demo_root, task, family):
    _demo_learns(task, family, demo_root, tmp_path / 'work')
