"""tools/deploy_report.py: both tables written between the markers of a markdown file (the rest of it kept), with
PyTorch and onnxruntime scored on the same val images; bad input in one line, exit 2.

Small: a random-weight demo classifier on 4 generated val images (accuracy), the demo Semantic FPN at 64x64 with one
timed run (latency)."""
import os.path as osp
import re

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from tests.conftest import ROOT
from tests.helpers import run_in_process

BEGIN, END = '<!-- deploy-report:begin -->', '<!-- deploy-report:end -->'
CLASSIFIER = osp.join(ROOT, 'configs', 'demo', 'imagenet_scalablevit_demo.py')
SEGMENTOR = osp.join(ROOT, 'configs', 'demo', 'semantic_fpn_scalablevit_demo.py')
CLASSES = ['circle', 'square', 'star', 'triangle']  # the demo set's class folders


@pytest.fixture
def classifier(tmp_path):
    """A random-weight demo classifier checkpoint and 4 val images in the demo's ImageNet layout."""
    from vdense.engine.build import build_model_from_config
    torch.manual_seed(0)
    model = build_model_from_config(Config.fromfile(CLASSIFIER))
    ckpt = tmp_path / 'classifier.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {'dataset_meta': {'classes': CLASSES}}}, ckpt)
    rng = np.random.default_rng(0)
    for i, name in enumerate(CLASSES):
        (tmp_path / 'data' / 'imagenet' / 'val' / name).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / 'data' / 'imagenet' / 'val' / name / f'{i}.jpg'),
                    rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    return ckpt


def _rows(text, first_cell):
    return [[c.strip() for c in line.strip('|').split('|')] for line in text.splitlines()
            if line.startswith(f'| {first_cell}')]


def test_writes_both_tables_between_the_markers(tmp_path, classifier, capsys):
    doc = tmp_path / 'deploy.md'
    doc.write_text(f'# Deploying\n\nkept before\n\n## Accuracy and latency\n\n{BEGIN}\nold table\n{END}\n\n'
                   'kept after\n')
    code, out, err = run_in_process(
        capsys, 'deploy_report', '--trained', f'imagenet={CLASSIFIER}:{classifier}', '--tasks', 'imagenet',
        '--data-root', tmp_path / 'data', '--val-images', 4, '--latency-models', SEGMENTOR, '--seg-size', '64x64',
        '--runs', 1, '--warmup', 0, '--threads', 1, '--out', doc)
    assert code == 0, err
    text = doc.read_text()
    assert text.startswith('# Deploying\n\nkept before\n') and text.rstrip().endswith('kept after'), text
    assert text.count(BEGIN) == text.count(END) == 1 and 'old table' not in text
    block = text.split(BEGIN)[1].split(END)[0]

    (row,) = _rows(block, 'imagenet')  # task, config, images, metric, PyTorch, onnxruntime, difference, within
    assert row[1:4] == ['imagenet_scalablevit_demo.py', '4', 'top-1'], row
    assert float(row[4]) in (0., 25., 50., 75., 100.) and abs(float(row[5]) - float(row[4])) <= 0.1, row
    assert row[7] == 'yes', row

    (row,) = _rows(block, 'semantic_fpn_scalablevit_demo')  # model, input, eager ms, onnxruntime ms, ratio, ...
    assert row[1] == '64x64' and float(row[2]) > 0 and float(row[3]) > 0, row
    assert re.fullmatch(r'\d+\.\d\dx', row[4]), row
    # Each table says how it was made.
    assert block.count('python tools/deploy_report.py --trained imagenet=') == 2 and 'onnxruntime 1.' in block


@pytest.mark.parametrize('args, says', [
    (['--trained', 'imagenet=missing.py:missing.pth', '--skip-latency'], 'missing.py not found'),
    (['--trained', 'detector=missing.py:missing.pth', '--skip-latency'], 'TASK one of'),
    (['--skip-accuracy', '--det-size', '800'], '--det-size 800'),
    (['--skip-accuracy', '--runs', '0'], '--runs 0'),
    (['--skip-accuracy', '--latency-models', 'configs/nope.py'], 'configs/nope.py not found'),
])
def test_bad_input_one_line(args, says, capsys):
    code, out, err = run_in_process(capsys, 'deploy_report', *args, '--dry-run')
    assert code == 2 and err.count('\n') == 1 and err.startswith('error: ') and says in err, err


def test_unbalanced_markers_refused_before_measuring(tmp_path, capsys):
    doc = tmp_path / 'deploy.md'
    doc.write_text(f'text\n{BEGIN}\nno end marker\n')
    code, out, err = run_in_process(capsys, 'deploy_report', '--skip-accuracy', '--out', doc)
    assert code == 2 and err.count('\n') == 1 and 'marker' in err, err
    assert doc.read_text() == f'text\n{BEGIN}\nno end marker\n'
