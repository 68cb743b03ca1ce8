"""tools/export_onnx.py on each family's demo detector checkpoint: one ONNX file with dynamic batch, height and width
equals the PyTorch backbone under onnxruntime (max relative error <= 1e-4) at batch 1 and 3 and at two sizes not
used at export, one of them (224x224 with the demos' window 6) padding in every stage; a file that fails the check
is not left behind."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from tests.conftest import ROOT
from tests.helpers import run_tool

pytest.importorskip('onnx', reason='onnx not installed (pip install -r requirements/export.txt)')
pytest.importorskip('onnxruntime', reason='onnxruntime not installed (pip install -r requirements/export.txt)')

FAMILIES = ['mask_rcnn_swin_demo', 'mask_rcnn_mvitv2_demo', 'retinanet_scalablevit_demo']
DEMO = osp.join(ROOT, 'configs', 'demo')


def _checkpoint(tmp_path, name):
    from vdense.engine.build import build_model_from_config
    torch.manual_seed(0)
    model = build_model_from_config(Config.fromfile(osp.join(ROOT, 'configs', 'demo', name + '.py')))
    for p in model.backbone.parameters():  # zero-initialised tables and biases would hide mistakes
        p.data.add_(torch.randn_like(p) * 0.02)
    path = tmp_path / (name + '.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


@pytest.mark.parametrize('name', FAMILIES)
def test_export_matches_pytorch(tmp_path, name):
    from vdense.deploy import max_relative_errors
    from vdense.engine.build import build_model_from_config
    ckpt = _checkpoint(tmp_path, name)
    cfg = osp.join(ROOT, 'configs', 'demo', name + '.py')
    out = tmp_path / 'backbone.onnx'
    proc = run_tool('export_onnx.py', cfg, ckpt, out, '--backbone-only', '--check-size', 224, 224)
    assert 'opset 17' in proc.stdout and 'all dynamic' in proc.stdout and out.is_file()
    model = build_model_from_config(Config.fromfile(cfg))
    model.load_state_dict(torch.load(ckpt, weights_only=True)['state_dict'])
    sizes = [(1, 224, 224), (3, 224, 224), (1, 256, 320), (3, 256, 320)]  # exported at 2 x 333 x 517
    errors = max_relative_errors(model.backbone, str(out), sizes, seed=1)
    assert max(errors.values()) <= 1e-4, errors
    # the graph builds its windows from the input's size: the outputs have each size's stage shapes
    import onnxruntime as ort
    session = ort.InferenceSession(str(out), providers=['CPUExecutionProvider'])
    outs = session.run(None, {'input': torch.randn(1, 3, 256, 320).numpy()})
    assert [o.shape[2:] for o in outs] == [(256 // s, 320 // s) for s in (4, 8, 16, 32)][-len(outs):]


def test_a_file_failing_the_check_is_not_left_behind(tmp_path):
    ckpt = _checkpoint(tmp_path, 'mask_rcnn_swin_demo')
    cfg = osp.join(ROOT, 'configs', 'demo', 'mask_rcnn_swin_demo.py')
    out = tmp_path / 'backbone.onnx'
    proc = run_tool('export_onnx.py', cfg, ckpt, out, '--backbone-only', '--tolerance', 0, '--check-size', 224, 224,
                    check=False)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith('error: ')
    assert 'not written' in proc.stderr and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ['mask_rcnn_swin_demo.pth']  # no temporary file left
    # a previous good export survives a failed one
    out.write_bytes(b'previous export')
    proc = run_tool('export_onnx.py', cfg, ckpt, out, '--backbone-only', '--tolerance', 0, '--check-size', 224, 224,
                    check=False)
    assert proc.returncode == 2 and 'previous file is kept' in proc.stderr
    assert out.read_bytes() == b'previous export' and len(list(tmp_path.iterdir())) == 2


@pytest.mark.parametrize('size', [(97, 211), (131, 75)])
def test_swin_exports_at_odd_stage_maps(tmp_path, size):
    """97x211 and 131x75 give stage maps of odd side (25x53, 33x19 at stride 4) where the trace size (333x517) has
    even ones before a merge: the patch merging's padding must be decided in the graph, not frozen at the trace.
    131x75 also has a stage map (9x5) whose larger side is H where the trace's is W: whether to shift must not be
    decided by Python's max at trace time."""
    from tests.helpers import perturb
    from vdense.deploy import export_backbone_onnx, max_relative_errors
    from vdense.models.backbones.swin import Swin
    torch.manual_seed(0)
    swin = perturb(Swin(arch=dict(embed_dims=16, depths=[2, 2, 2, 2], num_heads=[1, 2, 2, 4]), window_size=6,
                        mlp_ratio=2., drop_path_rate=0.))
    out = str(tmp_path / 'swin.onnx')
    export_backbone_onnx(swin, out)
    errors = max_relative_errors(swin, out, [(1, *size), (2, *size)])
    assert max(errors.values()) <= 1e-4, errors


@pytest.mark.parametrize('args, message', [
    (['--opset', '7'], '--opset 7: supported opsets are 16 to'),
    (['--check-size', '3000', '3000'], '--check-size 3000 3000: above 2,200,000 pixels'),
])
def test_bad_options_one_line(tmp_path, args, message):
    """--opset 7 printed 960 lines; --check-size 3000 3000 was OOM-killed at 23.7 GB on the ScalableViT demo
    (onnxruntime's unchunked whole-map attention): both now end in one line before anything is built."""
    cfg = osp.join(DEMO, 'retinanet_scalablevit_demo.py')
    ckpt = tmp_path / 'x.pth'
    torch.save({'state_dict': {}}, ckpt)
    proc = run_tool('export_onnx.py', cfg, ckpt, tmp_path / 'out.onnx', *args, check=False)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith('error: ' + message), proc.stderr


def test_never_writes_onto_its_inputs(tmp_path):
    """tools/export_onnx.py CFG CKPT CFG wrote the ONNX file over the config (exit 0)."""
    import shutil
    cfg = tmp_path / 'upernet_swin_demo.py'
    shutil.copy(osp.join(DEMO, 'upernet_swin_demo.py'), cfg)
    (tmp_path / 'upernet_scalablevit_demo.py').write_text(open(osp.join(DEMO, 'upernet_scalablevit_demo.py')).read())
    ckpt = tmp_path / 'model.pth'
    ckpt.write_bytes(b'not read')
    link = tmp_path / 'link.py'
    link.symlink_to(cfg)
    before = cfg.read_bytes()
    for out in (cfg, link, ckpt):
        proc = run_tool('export_onnx.py', cfg, ckpt, out, check=False)
        assert proc.returncode == 2 and 'is the input file' in proc.stderr, proc.stderr
    assert cfg.read_bytes() == before and ckpt.read_bytes() == b'not read'


def _trained_like_checkpoint(tmp_path, name, classes):
    from tests.helpers import perturb
    from vdense.engine.build import build_model_from_config
    torch.manual_seed(0)
    model = perturb(build_model_from_config(Config.fromfile(osp.join(DEMO, name + '.py'))))
    if hasattr(model, 'bbox_head'):  # RetinaNet's prior bias (scores ~0.01) would leave nothing above 0.05
        model.bbox_head.retina_cls.bias.data.zero_()
    path = tmp_path / (name + '.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {'dataset_meta': {'classes': classes}}}, path)
    return path, model


def _pytorch_predictions(model, images):
    """The libraries' own test path on uint8 RGB images, fed BGR as LoadImageFromFile gives them."""
    import numpy as np
    inputs = [torch.from_numpy(np.ascontiguousarray(img[::-1])) for img in images]
    shape = dict(img_shape=images.shape[2:], ori_shape=images.shape[2:])
    with torch.no_grad():
        if type(model).__name__ == 'ImageClassifier':
            return np.stack([s.pred_score.numpy() for s in model.test_step(dict(inputs=inputs))])
        if type(model).__name__ == 'RetinaNet':
            from mmdet.structures import DetDataSample
            samples = [DetDataSample(metainfo=dict(shape, scale_factor=(1., 1.))) for _ in inputs]
            return [s.pred_instances for s in model.test_step(dict(inputs=inputs, data_samples=samples))]
        from mmseg.structures import SegDataSample
        samples = [SegDataSample(metainfo=shape) for _ in inputs]
        out = model.test_step(dict(inputs=inputs, data_samples=samples))
        return np.stack([s.pred_sem_seg.data[0].numpy() for s in out])


def _assert_same_detections(expected, got):
    """Each PyTorch detection (score >= 0.05) has an exported one of its class with box IoU >= 0.99 and a score
    within 1e-3; rows past an image's detections are label -1."""
    from torchvision.ops import box_iou
    boxes, scores, labels = (torch.from_numpy(a) for a in got)
    for i, ref in enumerate(expected):
        keep = labels[i] >= 0
        assert keep.sum() == len(ref.scores) > 0
        iou = box_iou(ref.bboxes, boxes[i][keep])
        close = (ref.scores[:, None] - scores[i][keep][None]).abs() <= 1e-3
        same = ref.labels[:, None] == labels[i][keep][None]
        assert ((iou >= 0.99) & close & same).any(1).all()


@pytest.mark.parametrize('name', ['imagenet_swin_demo', 'upernet_swin_demo', 'semantic_fpn_scalablevit_demo',
                                  'retinanet_swin_demo'])
def test_complete_model_export(tmp_path, name):
    """The default export is the complete model: RGB 0-255 in, the task's predictions out, equal to the PyTorch
    model's test_step at sizes never traced (batch 1 and 3; 131x75 pads in every Swin stage and merge), with its
    preprocessing in the file's metadata. Semantic FPN's Upsample and UperNet's adaptive pooling fixed their sizes
    at the trace size before vdense/deploy/traceable.py; RetinaNet's test_cfg (score threshold, NMS, max
    detections) is in the graph with standard ops only."""
    import json

    import numpy as np
    import onnx
    import onnxruntime as ort
    classes = ['a', 'b', 'c', 'd']
    ckpt, model = _trained_like_checkpoint(tmp_path, name, classes)
    out = tmp_path / 'model.onnx'
    proc = run_tool('export_onnx.py', osp.join(DEMO, name + '.py'), ckpt, out, '--check-size', 97, 211)
    assert 'batch 3 97x211' in proc.stdout, proc.stdout
    assert {n.domain or 'ai.onnx' for n in onnx.load(str(out)).graph.node} == {'ai.onnx'}  # standard ops only
    session = ort.InferenceSession(str(out), providers=['CPUExecutionProvider'])
    meta = session.get_modelmeta().custom_metadata_map
    pre = json.loads(meta['vdense.preprocess'])
    assert pre['mean'] == [123.675, 116.28, 103.53] and pre['std'] == [58.395, 57.12, 57.375]
    assert pre['model_channel_order'] == 'RGB' and 'RGB, values 0-255' in pre['input']
    assert json.loads(meta['vdense.classes']) == classes
    task = meta['vdense.task']
    assert task == {'imagenet': 'classifier', 'retinanet': 'detector'}.get(name.split('_')[0], 'segmentor')
    if task == 'detector':
        assert pre['size_divisor'] == 32 and pre['test_pipeline'][0]['type'] == 'Resize'
    images = np.random.default_rng(1).integers(0, 256, size=(3, 3, 131, 75), dtype=np.uint8)
    for batch in (images[:1], images):
        expected = _pytorch_predictions(model.eval(), batch)
        got = session.run(None, {'image': batch.astype(np.float32)})
        if task == 'detector':
            _assert_same_detections(expected, got)
            continue
        got = got[0]
        assert got.shape == expected.shape
        if task == 'classifier':
            assert (np.argsort(-got, 1)[:, :4] == np.argsort(-expected, 1)[:, :4]).all()
            assert np.abs(got - expected).max() <= 1e-3
        else:
            assert (got == expected).mean() >= 0.999, (got == expected).mean()


def test_two_stage_detectors_one_line_until_supported(tmp_path):
    ckpt = _checkpoint(tmp_path, 'mask_rcnn_swin_demo')
    proc = run_tool('export_onnx.py', osp.join(DEMO, 'mask_rcnn_swin_demo.py'), ckpt, tmp_path / 'o.onnx',
                    check=False)
    assert proc.returncode == 2 and proc.stderr.count('\n') == 1 and 'add --backbone-only' in proc.stderr, \
        proc.stderr
    assert not (tmp_path / 'o.onnx').exists()


_NO_STACK = '''
import runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name='__main__')
except SystemExit as e:
    assert e.code in (0, None), e.code
stack = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'mmcv', 'mmdet', 'mmseg', 'mmengine',
                                                             'mmpretrain', 'vdense', 'torchvision'))
assert not stack, stack
'''


@pytest.mark.parametrize('name', ['retinanet_swin_demo', 'upernet_swin_demo', 'imagenet_swin_demo'])
def test_infer_on_onnx_matches_pytorch_path(tmp_path, name):
    """tools/infer.py MODEL.onnx gives the PyTorch path's outputs (same files, same JSON keys, same predictions)
    without importing torch or the OpenMMLab stack; detection inputs go through the test pipeline's Resize and the
    boxes come back in the image's pixels."""
    import json
    import subprocess
    import sys

    import cv2
    import numpy as np
    ckpt, _ = _trained_like_checkpoint(tmp_path, name, ['a', 'b', 'c', 'd'])
    cfg = osp.join(DEMO, name + '.py')
    onnx_file = tmp_path / 'model.onnx'
    run_tool('export_onnx.py', cfg, ckpt, onnx_file, '--check-size', 97, 211)
    rng = np.random.default_rng(2)
    (tmp_path / 'in' / 'a').mkdir(parents=True)
    images = [tmp_path / 'in' / 'a' / 'x.png', tmp_path / 'in' / 'y.png', tmp_path / 'in' / 'z.png']
    for path, size in zip(images, [(131, 75), (97, 211), (97, 211)]):
        cv2.imwrite(str(path), cv2.GaussianBlur(rng.integers(0, 256, (*size, 3), dtype=np.uint8), (5, 5), 2))
    # PyTorch batch 1: mmdet pads a batch to its largest image, so there an image's boxes depend on its batch
    # mates; the runtime batches only images of one size, which is exactly the image alone.
    run_tool('infer.py', cfg, ckpt, *images, '--out-dir', tmp_path / 'torch', '--score-thr', 0.05)
    proc = subprocess.run([sys.executable, '-c', _NO_STACK, osp.join(ROOT, 'tools', 'infer.py'), str(onnx_file),
                           *map(str, images), '--out-dir', str(tmp_path / 'ort'), '--batch-size', '2',
                           '--score-thr', '0.05'], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    torch_records = json.loads((tmp_path / 'torch' / 'results.json').read_text())
    ort_records = json.loads((tmp_path / 'ort' / 'results.json').read_text())
    assert [r['image'] for r in ort_records] == [r['image'] for r in torch_records]
    for ref, got in zip(torch_records, ort_records):
        assert set(got) == set(ref) and got['task'] == ref['task']
        rel = osp.relpath(ref['image'], tmp_path / 'in')
        assert (tmp_path / 'ort' / 'preds' / (rel + '.json')).is_file()
        assert (tmp_path / 'ort' / 'vis' / (rel + '.png')).is_file()
        if ref['task'] == 'detection':
            assert len(ref['scores']) > 0
            _assert_same_detections([_Instances(ref)], [np.array([a]) for a in _Instances(got).arrays()])
        elif ref['task'] == 'segmentation':
            a, b = cv2.imread(ref['seg_map'], cv2.IMREAD_UNCHANGED), cv2.imread(got['seg_map'], cv2.IMREAD_UNCHANGED)
            assert a.shape == b.shape and (a == b).mean() >= 0.999
        else:
            assert [t['label'] for t in got['topk']] == [t['label'] for t in ref['topk']]
            assert max(abs(t['score'] - u['score']) for t, u in zip(got['topk'], ref['topk'])) <= 1e-3


class _Instances:
    """A detection record as the arrays _assert_same_detections compares (scores rounded to 5 digits, boxes to
    0.01 px in the JSON)."""

    def __init__(self, record):
        self.bboxes = torch.tensor(record['bboxes'], dtype=torch.float32).reshape(-1, 4)
        self.scores = torch.tensor(record['scores'], dtype=torch.float32)
        self.labels = torch.tensor(record['labels'], dtype=torch.long)

    def arrays(self):
        return self.bboxes.numpy(), self.scores.numpy(), self.labels.numpy()
