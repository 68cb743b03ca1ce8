"""tools/infer.py on each task's demo model (untrained weights saved as a checkpoint: inference needs no accuracy):
files written, the JSON schema, masks that decode, label PNGs of the input's size, top-k sorted, one-line errors."""
import json
import os.path as osp
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from tests.conftest import ROOT
from tests.helpers import run_in_process, run_tool

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


def _infer(capsys, *args):
    """tools/infer.py's main() in this process, the stack imported once (the command as a user runs it, in a process
    of its own: test_segmentation_on_a_trained_checkpoint_exif_and_tiny_images, test_infer_bad_inputs_one_line).
    Returns stdout, the run having succeeded."""
    code, out, err = run_in_process(capsys, 'infer', *args)
    assert code == 0, err[-3000:]
    return out


@pytest.mark.parametrize('name,task', CASES)
def test_infer_writes_drawings_and_results(tmp_path, images, name, task, capsys):
    ckpt = _checkpoint(tmp_path, name)
    out = tmp_path / 'out'
    stdout = _infer(capsys, osp.join(ROOT, 'configs', 'demo', name + '.py'), ckpt, images, '--out-dir', out,
                    '--batch-size', 2, '--score-thr', 0.0)
    assert 'results.json' in stdout
    records = json.loads((out / 'results.json').read_text())
    assert [osp.basename(r['image']) for r in records] == ['a.jpg', 'b.png', 'c.jpg']
    for r in records:
        assert r['task'] == task
        assert json.loads((out / 'preds' / (osp.basename(r['image']) + '.json')).read_text()) == r
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


def test_infer_score_threshold_filters(tmp_path, images, capsys):
    ckpt = _checkpoint(tmp_path, 'mask_rcnn_swin_demo')
    cfg = osp.join(ROOT, 'configs', 'demo', 'mask_rcnn_swin_demo.py')
    _infer(capsys, cfg, ckpt, images / 'a.jpg', '--out-dir', tmp_path / 'o', '--score-thr', 0.0, '--no-draw')
    everything = json.loads((tmp_path / 'o' / 'results.json').read_text())[0]['scores']
    thr = float(np.median(everything))
    _infer(capsys, cfg, ckpt, images / 'a.jpg', '--out-dir', tmp_path / 'p', '--score-thr', thr, '--no-draw')
    kept = json.loads((tmp_path / 'p' / 'results.json').read_text())[0]['scores']
    assert kept == [s for s in everything if s >= thr] and len(kept) < len(everything)


def _error_line(proc):
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert lines and lines[-1].startswith('error: '), proc.stderr[-2000:]
    assert 'Traceback' not in proc.stderr
    return lines[-1]


def test_infer_bad_inputs_one_line(tmp_path, images, capsys):
    cfg = osp.join(ROOT, 'configs', 'demo', 'imagenet_scalablevit_demo.py')
    ckpt = _checkpoint(tmp_path, 'imagenet_scalablevit_demo')
    (tmp_path / 'empty').mkdir()
    # as a user runs it (a process of its own, exit status 2, stderr one line) ...
    assert 'holds no images' in _error_line(run_tool('infer.py', cfg, ckpt, tmp_path / 'empty', check=False))

    # ... and the other inputs through the same main() in this process (the stack imported once, not six times)
    def error_line(*args):
        code, _, err = run_in_process(capsys, 'infer', cfg, *args)
        return _error_line(SimpleNamespace(returncode=code, stderr=err))

    broken = tmp_path / 'broken.jpg'
    broken.write_bytes(b'\xff\xd8 not really a jpeg')
    assert 'broken.jpg: cannot be decoded as an image' in error_line(ckpt, images / 'a.jpg', broken)
    assert 'no such file' in error_line(ckpt, tmp_path / 'nope.jpg')
    assert 'matches no images' in error_line(ckpt, str(tmp_path / '*.gif'))
    # another task's weights: refused, not run as a random model
    other = _checkpoint(tmp_path, 'retinanet_mvitv2_demo')
    assert 'its backbone weights are a MViT' in error_line(other, images / 'a.jpg')
    garbage = tmp_path / 'garbage.pth'
    garbage.write_bytes(b'')
    assert 'empty' in error_line(garbage, images / 'a.jpg')


# ---- #23.5 / #25: files as users have them, a segmentation checkpoint from tools/train.py ------------------------
def _bad_images(root):
    """Files that used to pass the check (cv2's IMREAD_UNCHANGED) and fail once the model ran."""
    rng = np.random.RandomState(1)
    cv2.imwrite(str(root / 'good.jpg'), rng.randint(0, 255, (120, 160, 3)).astype(np.uint8))
    data = (root / 'good.jpg').read_bytes()
    (root / 'truncated.jpg').write_bytes(data[:len(data) // 2])
    from PIL import Image
    Image.fromarray(rng.rand(64, 64).astype(np.float32), mode='F').save(root / 'float32.tif')
    cv2.imwrite(str(root / 'wide.png'), rng.randint(0, 255, (2, 4000, 3)).astype(np.uint8))


def _exif_rotated(path, h=96, w=160):
    """A JPEG stored w x h whose EXIF orientation (6: rotate 90) shows it h x w, as phones write them."""
    from PIL import Image
    image = Image.fromarray(np.random.RandomState(2).randint(0, 255, (h, w, 3)).astype(np.uint8))
    exif = image.getexif()
    exif[0x0112] = 6
    image.save(path, exif=exif)


@pytest.mark.parametrize('bad', ['truncated.jpg', 'float32.tif', 'wide.png'])
def test_images_the_model_cannot_take_are_refused_before_the_checkpoint_is_read(tmp_path, bad):
    from vdense.apis import InferenceInputError, run_inference
    _bad_images(tmp_path)
    empty = tmp_path / 'never_read.pth'
    empty.write_bytes(b'')  # read after the images: its error would show if the images passed
    cfg = osp.join(ROOT, 'configs', 'demo', 'retinanet_mvitv2_demo.py')
    with pytest.raises(InferenceInputError, match=f'^{tmp_path / bad}: '):
        run_inference(cfg, str(empty), [str(tmp_path / 'good.jpg'), str(tmp_path / bad)], str(tmp_path / 'o'))


@pytest.fixture(scope='module')
def trained_seg(tmp_path_factory):
    """One iteration of the Swin Semantic FPN demo by tools/train.py: its checkpoint's dataset_meta carries
    label_map and reduce_zero_label, as every segmentation checkpoint tools/train.py writes."""
    from tests.helpers import data_root_options
    from vdense.data.demo_shapes import make_demo_ade
    ade = make_demo_ade(str(tmp_path_factory.mktemp('ade')), splits={'training': (2, 0), 'validation': (2, 1)})
    work = tmp_path_factory.mktemp('seg')
    run_tool('train.py', osp.join(ROOT, 'configs', 'demo', 'semantic_fpn_swin_demo.py'), '--work-dir', work,
             '--cfg-options', *data_root_options(ade), 'train_cfg.max_iters=1', 'default_hooks.checkpoint.interval=1',
             'train_dataloader.batch_size=2', 'val_dataloader.batch_size=2')
    return work / 'iter_1.pth'


def test_segmentation_on_a_trained_checkpoint_exif_and_tiny_images(tmp_path, trained_seg):
    cfg = osp.join(ROOT, 'configs', 'demo', 'semantic_fpn_swin_demo.py')
    meta = torch.load(trained_seg, map_location='cpu', weights_only=True)['meta']['dataset_meta']
    assert {'label_map', 'reduce_zero_label'} <= set(meta)  # what SegLocalVisualizer refused
    images = tmp_path / 'images'
    images.mkdir()
    cv2.imwrite(str(images / 'a.jpg'), np.random.RandomState(3).randint(0, 255, (96, 160, 3)).astype(np.uint8))
    _exif_rotated(images / 'b_rotated.jpg')  # batch of 2 with a.jpg: shown 160 x 96, stored 96 x 160
    cv2.imwrite(str(images / 'c_tiny.png'), np.full((1, 1, 3), 200, np.uint8))
    out = tmp_path / 'out'
    proc = run_tool('infer.py', cfg, trained_seg, images, '--out-dir', out, '--batch-size', 2)  # as a user runs it
    records = {osp.basename(r['image']): r for r in json.loads((out / 'results.json').read_text())}
    assert (records['a.jpg']['height'], records['a.jpg']['width']) == (96, 160)
    assert (records['b_rotated.jpg']['height'], records['b_rotated.jpg']['width']) == (160, 96)
    assert (records['c_tiny.png']['height'], records['c_tiny.png']['width']) == (1, 1)
    for r in records.values():
        seg = cv2.imread(r['seg_map'], cv2.IMREAD_UNCHANGED)
        assert seg.shape == (r['height'], r['width']) and set(np.unique(seg)) <= set(range(5))
        assert cv2.imread(r['vis']) is not None
    # The last lines name where the results are, as they are.
    last = proc.stdout.strip().splitlines()[-1]
    assert last == (f'vdense: results in {out / "results.json"}, {out / "preds"}/, {out / "pred"}/, '
                    f'{out / "vis"}/'), last


def _classifier(tmp_path):
    return osp.join(ROOT, 'configs', 'demo', 'imagenet_scalablevit_demo.py'), _checkpoint(tmp_path,
                                                                                          'imagenet_scalablevit_demo')


def test_output_names_cannot_collide(tmp_path, capsys):
    cfg, ckpt = _classifier(tmp_path)
    rng = np.random.RandomState(4)
    for name in ('a/x.png', 'a/x_1.jpg', 'a/x.jpg', 'b/x.png'):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        cv2.imwrite(str(tmp_path / name), rng.randint(0, 255, (40, 50, 3)).astype(np.uint8))
    out = tmp_path / 'out'
    _infer(capsys, cfg, ckpt, tmp_path / 'a', tmp_path / 'b', '--out-dir', out)
    records = json.loads((out / 'results.json').read_text())
    assert sorted(osp.relpath(r['vis'], out / 'vis') for r in records) == [
        'a/x.jpg.png', 'a/x.png.png', 'a/x_1.jpg.png', 'b/x.png.png']
    for r in records:  # each file holds its own image's result
        name = osp.relpath(r['image'], tmp_path)
        assert json.loads((out / 'preds' / (name + '.json')).read_text())['image'] == r['image']


def test_no_draw_draws_nothing_and_large_images_are_drawn_small(tmp_path, monkeypatch):
    from vdense.apis import Predictor, run_inference
    cfg, ckpt = _classifier(tmp_path)
    big = tmp_path / 'big.jpg'
    cv2.imwrite(str(big), np.random.RandomState(5).randint(0, 255, (1500, 2400, 3)).astype(np.uint8))
    records = run_inference(cfg, str(ckpt), [str(big)], str(tmp_path / 'o'), show_progress=False,
                            draw_max_side=300)
    assert (records[0]['height'], records[0]['width']) == (1500, 2400)
    assert cv2.imread(records[0]['vis']).shape[:2] == (188, 300)

    def no_drawing(*args, **kwargs):
        raise AssertionError('--no-draw drew')
    monkeypatch.setattr(Predictor, 'draw', no_drawing)
    records = run_inference(cfg, str(ckpt), [str(big)], str(tmp_path / 'p'), show_progress=False, draw=False)
    assert 'vis' not in records[0] and not (tmp_path / 'p' / 'vis').exists()


def test_predictor_takes_one_path(tmp_path, images):
    from vdense.apis import Predictor
    cfg, ckpt = _classifier(tmp_path)
    samples = Predictor(cfg, str(ckpt))(str(images / 'a.jpg'))  # used to fail: IsADirectoryError: '/'
    assert len(samples) == 1 and samples[0].pred_score.numel() == 4


def test_an_image_above_max_pixels_is_refused_from_its_header(tmp_path, monkeypatch):
    # A small file can hold a huge image (a 12000x12000 JPEG took 18.9 GB): its size is read before decoding.
    import mmcv

    from vdense.apis import InferenceInputError, run_inference
    cfg, ckpt = _classifier(tmp_path)
    cv2.imwrite(str(tmp_path / 'big.png'), np.zeros((300, 400, 3), np.uint8))

    def no_decoding(*args, **kwargs):
        raise AssertionError('decoded before the size check')
    monkeypatch.setattr(mmcv, 'imfrombytes', no_decoding)
    with pytest.raises(InferenceInputError, match=r'big.png: 400x300 = 0.12 MP, above the 0.1 MP limit'):
        run_inference(cfg, str(ckpt), [str(tmp_path / 'big.png')], str(tmp_path / 'o'), max_pixels=100_000)


def test_predictors_of_every_task_in_one_process(tmp_path, images):
    # A script using several Predictors: each builds and runs under its own config's registry scope (the
    # classifier's PackInputs used to be looked up in the mmseg registry the segmentor had left current).
    from vdense.apis import Predictor
    names = ('semantic_fpn_scalablevit_demo', 'imagenet_scalablevit_demo', 'retinanet_scalablevit_demo')
    checkpoints = [str(_checkpoint(tmp_path, name)) for name in names]
    predictors = [Predictor(osp.join(ROOT, 'configs', 'demo', name + '.py'), ckpt)
                  for name, ckpt in zip(names, checkpoints)]
    for predictor in predictors + predictors[::-1]:
        sample, = predictor(str(images / 'b.png'))
        assert type(sample).__name__ == {'segmentation': 'SegDataSample', 'classification': 'DataSample',
                                         'detection': 'DetDataSample'}[predictor.task]
