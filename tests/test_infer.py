"""tools/infer.py on each task's demo model (untrained weights saved as a checkpoint: inference needs no accuracy):
files written, the JSON schema, masks that decode, label PNGs of the input's size, top-k sorted, one-line errors."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from tests.conftest import ROOT
from tests.helpers import run_tool

CASES = [('mask_rcnn_swin_demo', 'detection'), ('retinanet_mvitv2_demo', 'detection'),
         ('semantic_fpn_scalablevit_demo', 'segmentation'), ('imagenet_scalablevit_demo', 'classification')]


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp('infer_images')
    rng = np.random.RandomState(0)
    for name, (h, w) in (('a.jpg', (150, 200)), ('b.png', (97, 131)), ('c.jpg', (150, 200))):
        cv2.imwrite(str(root / name), rng.randint(0, 255, (h, w, 3)).astype(np.uint8))
    return root


def _checkpoint(tmp_path, name):
    from vdense.engine.build import build_model_from_config
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'demo', name + '.py'))
    torch.manual_seed(0)
    model = build_model_from_config(cfg)
    path = tmp_path / (name + '.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


@pytest.mark.parametrize('name,task', CASES)
def test_infer_writes_drawings_and_results(tmp_path, images, name, task):
    ckpt = _checkpoint(tmp_path, name)
    out = tmp_path / 'out'
    proc = run_tool('infer.py', osp.join(ROOT, 'configs', 'demo', name + '.py'), ckpt, images, '--out-dir', out,
                    '--batch-size', 2, '--score-thr', 0.0)
    assert 'results.json' in proc.stdout
    records = json.loads((out / 'results.json').read_text())
    assert [osp.basename(r['image']) for r in records] == ['a.jpg', 'b.png', 'c.jpg']
    for r in records:
        assert r['task'] == task
        assert json.loads((out / 'preds' / (osp.splitext(osp.basename(r['image']))[0] + '.json')).read_text()) == r
        vis = cv2.imread(r['vis'])
        assert vis is not None and vis.shape[:2] == (r['height'], r['width'])
        if task == 'detection':
            n = len(r['scores'])
            assert (n > 0 or 'retinanet' in name) and len(r['bboxes']) == len(r['labels']) == len(r['label_names']) == n
            assert all(s >= 0 for s in r['scores']) and all(len(b) == 4 for b in r['bboxes'])
            assert set(r['label_names']) <= {'circle', 'square', 'triangle', 'star'}
            if 'mask_rcnn' in name:
                from pycocotools import mask as mask_utils
                assert len(r['masks']) == n
                m = mask_utils.decode({'size': r['masks'][0]['size'], 'counts': r['masks'][0]['counts'].encode()})
                assert m.shape == (r['height'], r['width'])
        elif task == 'segmentation':
            seg = cv2.imread(r['seg_map'], cv2.IMREAD_UNCHANGED)
            assert seg.shape == (r['height'], r['width'])
            assert sorted(np.unique(seg).tolist()) == r['classes_present']
        else:
            scores = [t['score'] for t in r['topk']]
            assert len(scores) == 4 and scores == sorted(scores, reverse=True)  # 4 demo classes, k = 5
            assert abs(sum(scores) - 1) < 1e-3


def test_infer_score_threshold_filters(tmp_path, images):
    ckpt = _checkpoint(tmp_path, 'mask_rcnn_swin_demo')
    cfg = osp.join(ROOT, 'configs', 'demo', 'mask_rcnn_swin_demo.py')
    run_tool('infer.py', cfg, ckpt, images / 'a.jpg', '--out-dir', tmp_path / 'o', '--score-thr', 0.0, '--no-draw')
    everything = json.loads((tmp_path / 'o' / 'results.json').read_text())[0]['scores']
    thr = float(np.median(everything))
    run_tool('infer.py', cfg, ckpt, images / 'a.jpg', '--out-dir', tmp_path / 'p', '--score-thr', thr, '--no-draw')
    kept = json.loads((tmp_path / 'p' / 'results.json').read_text())[0]['scores']
    assert kept == [s for s in everything if s >= thr] and len(kept) < len(everything)


def _error_line(proc):
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert lines and lines[-1].startswith('error: '), proc.stderr[-2000:]
    assert 'Traceback' not in proc.stderr
    return lines[-1]


def test_infer_bad_inputs_one_line(tmp_path, images):
    cfg = osp.join(ROOT, 'configs', 'demo', 'imagenet_scalablevit_demo.py')
    ckpt = _checkpoint(tmp_path, 'imagenet_scalablevit_demo')
    (tmp_path / 'empty').mkdir()
    assert 'holds no images' in _error_line(run_tool('infer.py', cfg, ckpt, tmp_path / 'empty', check=False))
    broken = tmp_path / 'broken.jpg'
    broken.write_bytes(b'\xff\xd8 not really a jpeg')
    line = _error_line(run_tool('infer.py', cfg, ckpt, images / 'a.jpg', broken, check=False))
    assert 'broken.jpg: cannot be read as an image' in line
    assert 'no such file' in _error_line(run_tool('infer.py', cfg, ckpt, tmp_path / 'nope.jpg', check=False))
    assert 'matches no images' in _error_line(run_tool('infer.py', cfg, ckpt, str(tmp_path / '*.gif'),
                                                       check=False))
    # another task's weights: refused, not run as a random model
    other = _checkpoint(tmp_path, 'retinanet_mvitv2_demo')
    assert 'fits only' in _error_line(run_tool('infer.py', cfg, other, images / 'a.jpg', check=False))
    garbage = tmp_path / 'garbage.pth'
    garbage.write_bytes(b'')
    assert 'empty' in _error_line(run_tool('infer.py', cfg, garbage, images / 'a.jpg', check=False))
