"""tools/export_onnx.py: the complete models (classifier, segmentors, RetinaNet, Mask R-CNN, Cascade Mask R-CNN) and
the backbones to ONNX with dynamic batch, height and width, equal to PyTorch under onnxruntime at sizes not traced
(batch 1 and 3); tools/infer.py on the file gives the PyTorch path's outputs without torch; a file that fails the
check is not left behind.

Cost: the tool runs in this process (the stack imported once) and each complete model is exported once per module
(the ``exported`` fixture), checked at 97x211 only (--check-size; the default adds 224x224 and 800x1216)."""
import contextlib
import io
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config

from tests.conftest import ROOT
from tests.helpers import load_tool, run_in_process

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
    stdout = _export(cfg, ckpt, out, '--backbone-only', '--check-size', 224, 224)  # the tool checks 224x224 b1, b3
    assert 'opset 17' in stdout and 'all dynamic' in stdout and 'batch 3 224x224' in stdout and out.is_file()
    model = build_model_from_config(Config.fromfile(cfg))
    model.load_state_dict(torch.load(ckpt, weights_only=True)['state_dict'])
    sizes = [(1, 256, 320), (3, 256, 320)]  # exported at 2 x 333 x 517
    errors = max_relative_errors(model.backbone, str(out), sizes, seed=1)
    assert max(errors.values()) <= 1e-4, errors
    # the graph builds its windows from the input's size: the outputs have each size's stage shapes
    import onnxruntime as ort
    session = ort.InferenceSession(str(out), providers=['CPUExecutionProvider'])
    outs = session.run(None, {'input': torch.randn(1, 3, 256, 320).numpy()})
    assert [o.shape[2:] for o in outs] == [(256 // s, 320 // s) for s in (4, 8, 16, 32)][-len(outs):]


def test_a_file_failing_the_check_is_not_left_behind(tmp_path, capsys):
    ckpt = _checkpoint(tmp_path, 'retinanet_scalablevit_demo')
    cfg = osp.join(ROOT, 'configs', 'demo', 'retinanet_scalablevit_demo.py')
    out = tmp_path / 'backbone.onnx'
    args = (cfg, ckpt, out, '--backbone-only', '--tolerance', 0, '--check-size', 64, 64)
    code, _, err = run_in_process(capsys, 'export_onnx', *args)
    assert code == 2 and err.strip().splitlines()[-1].startswith('error: ')
    assert 'not written' in err and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ['retinanet_scalablevit_demo.pth']  # no temporary file
    # a previous good export survives a failed one
    out.write_bytes(b'previous export')
    code, _, err = run_in_process(capsys, 'export_onnx', *args)
    assert code == 2 and 'previous file is kept' in err
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
def test_bad_options_one_line(tmp_path, capsys, args, message):
    """--opset 7 printed 960 lines; --check-size 3000 3000 was OOM-killed at 23.7 GB on the ScalableViT demo
    (onnxruntime's unchunked whole-map attention): both now end in one line before anything is built."""
    cfg = osp.join(DEMO, 'retinanet_scalablevit_demo.py')
    ckpt = tmp_path / 'x.pth'
    torch.save({'state_dict': {}}, ckpt)
    code, _, err = run_in_process(capsys, 'export_onnx', cfg, ckpt, tmp_path / 'out.onnx', *args)
    assert code == 2 and err.strip().splitlines() == [err.strip()]
    assert err.startswith('error: ' + message), err


def test_never_writes_onto_its_inputs(tmp_path, capsys):
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
        code, _, err = run_in_process(capsys, 'export_onnx', cfg, ckpt, out)
        assert code == 2 and 'is the input file' in err, err
    assert cfg.read_bytes() == before and ckpt.read_bytes() == b'not read'


CLASSES = ['a', 'b', 'c', 'd']


def _export(*args):
    """tools/export_onnx.py run in this process -> its stdout (an AssertionError with its stderr if it failed)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            load_tool('export_onnx').main([str(a) for a in args])
        except SystemExit as e:
            assert e.code in (0, None), err.getvalue()[-3000:]
    return out.getvalue()


def _trained_like(cfg):
    """A demo model with seeded noise on every weight, its scores spread so that there are detections well apart:
    RetinaNet's prior bias (scores ~0.01) zeroed; the RPN's and the box heads' classifiers scaled up (random heads
    score everything ~1/classes: near-ties at the proposal and max_per_img cuts would test the tie order)."""
    from tests.helpers import perturb
    from vdense.engine.build import build_model_from_config
    torch.manual_seed(0)
    model = perturb(build_model_from_config(cfg))
    with torch.no_grad():
        if hasattr(model, 'bbox_head'):
            model.bbox_head.retina_cls.bias.zero_()
        if hasattr(model, 'roi_head'):
            model.rpn_head.rpn_cls.weight.mul_(5)
            heads = model.roi_head.bbox_head
            for head in (heads if isinstance(heads, torch.nn.ModuleList) else [heads]):
                head.fc_cls.weight.mul_(5)
    return model.eval()


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """name -> the demo model (perturbed), its checkpoint and its file written by the tool (checked by the tool at
    97x211, batch 1 and 3), each exported once for the tests of this module."""
    cache = {}

    def get(name):
        if name not in cache:
            folder = tmp_path_factory.mktemp(name)
            cfg = osp.join(DEMO, name + '.py')
            model = _trained_like(Config.fromfile(cfg))
            ckpt = folder / (name + '.pth')
            torch.save({'state_dict': model.state_dict(), 'meta': {'dataset_meta': {'classes': CLASSES}}}, ckpt)
            out = folder / 'model.onnx'
            stdout = _export(cfg, ckpt, out, '--check-size', 97, 211)
            cache[name] = SimpleNamespace(model=model, cfg=cfg, ckpt=ckpt, onnx=out, stdout=stdout)
        return cache[name]
    return get


def _pytorch_predictions(model, images):
    """The libraries' own test path on uint8 RGB images, fed BGR as LoadImageFromFile gives them."""
    import numpy as np
    inputs = [torch.from_numpy(np.ascontiguousarray(img[::-1])) for img in images]
    shape = dict(img_shape=images.shape[2:], ori_shape=images.shape[2:])
    with torch.no_grad():
        if type(model).__name__ == 'ImageClassifier':
            return np.stack([s.pred_score.numpy() for s in model.test_step(dict(inputs=inputs))])
        if hasattr(model, 'bbox_head') or hasattr(model, 'roi_head'):
            from mmdet.structures import DetDataSample
            samples = [DetDataSample(metainfo=dict(shape, scale_factor=(1., 1.))) for _ in inputs]
            out = model.test_step(dict(inputs=inputs, data_samples=samples))
            return [tuple(getattr(s.pred_instances, k).numpy() if k in s.pred_instances else None
                          for k in ('bboxes', 'scores', 'labels', 'masks')) for s in out]
        from mmseg.structures import SegDataSample
        samples = [SegDataSample(metainfo=shape) for _ in inputs]
        out = model.test_step(dict(inputs=inputs, data_samples=samples))
        return np.stack([s.pred_sem_seg.data[0].numpy() for s in out])


def _assert_same_detections(expected, got):
    """expected, got: per image (boxes, scores, labels, masks (N, H, W) bool or None). Each PyTorch detection (score
    >= 0.05) has an exported one of its class with box IoU >= 0.99, a score within 1e-3 and mask IoU >= 0.99."""
    import numpy as np
    from torchvision.ops import box_iou
    for (boxes, scores, labels, masks), (e_boxes, e_scores, e_labels, e_masks) in zip(expected, got):
        assert len(e_scores) == len(scores) > 0
        ok = (box_iou(torch.from_numpy(boxes), torch.from_numpy(e_boxes)).numpy() >= 0.99)
        ok &= np.abs(scores[:, None] - e_scores[None]) <= 1e-3
        ok &= labels[:, None] == e_labels[None]
        if masks is not None:
            assert masks.any(), 'no mask pixels: the mask comparison would be vacuous'
            for i, j in zip(*np.nonzero(ok)):
                union = (masks[i] | e_masks[j]).sum()
                ok[i, j] = union == 0 or (masks[i] & e_masks[j]).sum() / union >= 0.99
        assert ok.any(1).all()


def _exported_detections(outputs, height, width, mask_threshold):
    """The graph's batch outputs -> per image (boxes, scores, labels, masks pasted by the runtime or None)."""
    from vdense.deploy.runtime import paste_masks
    images = []
    for i in range(len(outputs[0])):
        keep = outputs[2][i] >= 0
        boxes = outputs[0][i][keep]
        masks = paste_masks(outputs[3][i][keep], boxes, height, width, mask_threshold) if len(outputs) > 3 else None
        images.append((boxes, outputs[1][i][keep], outputs[2][i][keep], masks))
    return images


@pytest.mark.parametrize('name', ['imagenet_swin_demo', 'upernet_swin_demo', 'semantic_fpn_scalablevit_demo',
                                  'retinanet_swin_demo', 'mask_rcnn_swin_demo'])
def test_complete_model_export(exported, name):
    """The default export is the complete model: RGB 0-255 in, the task's predictions out, equal to the PyTorch
    model's test_step at sizes never traced (batch 1 and 3; 131x75 pads in every Swin stage and merge), with its
    preprocessing in the file's metadata. Semantic FPN's Upsample and UperNet's adaptive pooling fixed their sizes
    at the trace size before vdense/deploy/traceable.py; RetinaNet's and Mask R-CNN's test_cfg (proposals, score
    threshold, NMS, max detections) are in the graph with standard ops only; Mask R-CNN's per-box mask
    probabilities pasted by the runtime equal mmdet's masks (IoU >= 0.99). Mask R-CNN was refused before."""
    import json

    import numpy as np
    import onnx
    import onnxruntime as ort
    case = exported(name)
    model, out = case.model, case.onnx
    assert 'batch 3 97x211' in case.stdout, case.stdout
    nodes = onnx.load(str(out)).graph.node
    assert {n.domain or 'ai.onnx' for n in nodes} == {'ai.onnx'}  # standard ops only
    session = ort.InferenceSession(str(out), providers=['CPUExecutionProvider'])
    meta = session.get_modelmeta().custom_metadata_map
    pre = json.loads(meta['vdense.preprocess'])
    assert pre['mean'] == [123.675, 116.28, 103.53] and pre['std'] == [58.395, 57.12, 57.375]
    assert pre['model_channel_order'] == 'RGB' and 'RGB, values 0-255' in pre['input']
    assert json.loads(meta['vdense.classes']) == CLASSES
    task = meta['vdense.task']
    assert task == {'imagenet': 'classifier', 'retinanet': 'detector', 'mask': 'detector'}.get(
        name.split('_')[0], 'segmentor')
    if task == 'detector':
        assert pre['size_divisor'] == 32 and pre['test_pipeline'][0]['type'] == 'Resize'
    if name.startswith('mask_rcnn'):
        assert json.loads(meta['vdense.outputs']) == ['boxes', 'scores', 'labels', 'masks']
        assert {'RoiAlign', 'NonMaxSuppression'} <= {n.op_type for n in nodes}
        assert 'masks: min IoU' in case.stdout
    images = np.random.default_rng(1).integers(0, 256, size=(3, 3, 131, 75), dtype=np.uint8)
    for batch in (images[:1], images):
        expected = _pytorch_predictions(model, batch)
        got = session.run(None, {'image': batch.astype(np.float32)})
        if task == 'detector':
            threshold = float(meta.get('vdense.mask_threshold', 0.5))
            _assert_same_detections(expected, _exported_detections(got, 131, 75, threshold))
            continue
        got = got[0]
        assert got.shape == expected.shape
        if task == 'classifier':
            assert (np.argsort(-got, 1)[:, :4] == np.argsort(-expected, 1)[:, :4]).all()
            assert np.abs(got - expected).max() <= 1e-3
        else:
            assert (got == expected).mean() >= 0.999, (got == expected).mean()


def _cascade_config(name):
    """A demo Mask R-CNN config with the cascade RoI head of configs/_base_/models/cascade_mask_rcnn.py (3 stages,
    class-specific deltas, a mask head per stage), narrowed to the demo's 64 channels: no demo config trains it."""
    cfg = Config.fromfile(osp.join(DEMO, name + '.py'))
    base = Config.fromfile(osp.join(ROOT, 'configs', '_base_', 'models', 'cascade_mask_rcnn.py'))
    roi = base.cascade_roi_head.to_dict()
    norm = dict(type='GN', num_groups=16, requires_grad=True)
    roi['bbox_roi_extractor']['out_channels'] = roi['mask_roi_extractor']['out_channels'] = 64
    roi['bbox_head'] = [dict(h, in_channels=64, conv_out_channels=64, fc_out_channels=128, num_classes=4,
                             norm_cfg=norm) for h in roi['bbox_head']]
    roi['mask_head'].update(in_channels=64, conv_out_channels=64, num_classes=4, num_convs=2)
    cfg.merge_from_dict(dict(model=dict(type='CascadeRCNN', roi_head=roi,
                                        train_cfg=dict(rcnn=base.cascade_rcnn_train_cfg))))
    return cfg


def test_cascade_mask_rcnn_export(tmp_path):
    """Cascade Mask R-CNN (ScalableViT demo backbone): the stages' box refinement, class scores averaged over the
    stages and masks averaged over the stages' mask heads in the graph, equal to CascadeRoIHead.predict at sizes not
    traced, batch 1 and 3 (the tool's check: boxes, scores, labels, masks). Refused before."""
    import onnx

    from vdense.deploy.check import check_against_pytorch
    from vdense.deploy.graphs import build_graph
    from vdense.deploy.onnx_export import export_graph
    model = _trained_like(_cascade_config('mask_rcnn_scalablevit_demo'))
    assert type(model.roi_head).__name__ == 'CascadeRoIHead' and len(model.roi_head.mask_head) == 3
    graph = build_graph(model, 'detector')
    out = str(tmp_path / 'cascade.onnx')
    assert export_graph(graph, out) == ('boxes', 'scores', 'labels', 'masks')
    assert {n.domain or 'ai.onnx' for n in onnx.load(out).graph.node} == {'ai.onnx'}
    results = check_against_pytorch(model, 'detector', out, [(1, 97, 211), (3, 97, 211)],
                                    mask_threshold=graph.mask_threshold)
    for shape, passed, what in results:
        assert passed and what.startswith(f'{20 * shape[0]}/{20 * shape[0]} detections matched (masks'), (shape, what)


def test_unsupported_detector_one_line():
    """A two-stage detector the graph does not cover (here Faster R-CNN: no mask head) is refused in one line that
    names the reason and --backbone-only."""
    from vdense.deploy.graphs import build_graph
    from vdense.engine.build import build_model_from_config
    cfg = Config.fromfile(osp.join(DEMO, 'mask_rcnn_swin_demo.py'))
    cfg.merge_from_dict(dict(model=dict(type='FasterRCNN', roi_head=dict(mask_roi_extractor=None, mask_head=None))))
    with pytest.raises(NotImplementedError) as error:
        build_graph(build_model_from_config(cfg).eval(), 'detector')
    message = str(error.value)
    assert '\n' not in message and 'no mask head' in message and 'add --backbone-only' in message


def test_roi_align_is_onnx_half_pixel(tmp_path):
    """mmcv's RoIAlign (aligned=True and False, adaptive and fixed sampling) equals ONNX RoiAlign with
    half_pixel / output_half_pixel under onnxruntime on RoIs small, large, partly and wholly outside the map."""
    import numpy as np
    import onnxruntime as ort
    from mmcv.ops import RoIAlign

    from vdense.deploy.roi_align import roi_align
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(2, 3, 13, 17, generator=g)
    xy = torch.rand(40, 2, generator=g) * torch.tensor([90., 70.]) - 10
    wh = torch.rand(40, 2, generator=g) ** 3 * 80
    boxes = torch.cat([xy, xy + wh], 1)
    batch_idx = (torch.arange(40) % 2).long()
    for aligned in (True, False):
        for sampling in (0, 2):
            layer = RoIAlign(output_size=(7, 5), spatial_scale=0.25, sampling_ratio=sampling, aligned=aligned)

            class Op(torch.nn.Module):
                def forward(self, f, b, i):
                    return roi_align(f, b, i, layer)
            path = str(tmp_path / f'roi_align_{aligned}_{sampling}.onnx')
            torch.onnx.export(Op(), (feats, boxes, batch_idx), path, dynamo=False, opset_version=16,
                              input_names=['f', 'b', 'i'])
            got = ort.InferenceSession(path, providers=['CPUExecutionProvider']).run(
                None, {'f': feats.numpy(), 'b': boxes.numpy(), 'i': batch_idx.numpy()})[0]
            expected = layer(feats, torch.cat([batch_idx[:, None].float(), boxes], 1)).numpy()
            assert np.abs(got - expected).max() <= 1e-5, (aligned, sampling, np.abs(got - expected).max())


def test_runtime_masks_as_mmdet_and_pycocotools():
    """The runtime's mask pasting equals mmdet's _do_paste_mask + threshold, and its RLE pycocotools' encode."""
    import numpy as np
    from mmdet.models.roi_heads.mask_heads.fcn_mask_head import _do_paste_mask
    from pycocotools import mask as mask_utils

    from vdense.deploy.runtime import mask_to_rle, paste_masks
    g = torch.Generator().manual_seed(0)
    probs = torch.rand(12, 28, 28, generator=g)
    xy = torch.rand(12, 2, generator=g) * torch.tensor([90., 60.]) - 15
    boxes = torch.cat([xy, xy + 1 + torch.rand(12, 2, generator=g) * 70], 1)
    got = paste_masks(probs.numpy(), boxes.numpy(), 61, 83, 0.5)
    pasted, _ = _do_paste_mask(probs[:, None], boxes, 61, 83, skip_empty=False)
    expected = (pasted >= 0.5).numpy()
    assert expected.any() and (got != expected).mean() <= 1e-4
    masks = list(got) + [np.zeros((5, 7), bool), np.ones((5, 7), bool), np.eye(6, dtype=bool)]
    for m in masks:
        rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
        assert mask_to_rle(m) == {'size': list(rle['size']), 'counts': rle['counts'].decode('ascii')}


_NO_STACK = '''
import runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name='__main__')
except SystemExit as e:
    assert e.code in (0, None), e.code
stack = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'mmcv', 'mmdet', 'mmseg', 'mmengine',
                                                             'mmpretrain', 'vdense', 'torchvision', 'pycocotools'))
assert not stack, stack
'''


@pytest.mark.parametrize('name', ['retinanet_swin_demo', 'mask_rcnn_swin_demo', 'upernet_swin_demo',
                                  'imagenet_swin_demo'])
def test_infer_on_onnx_matches_pytorch_path(tmp_path, capsys, exported, name):
    """tools/infer.py MODEL.onnx gives the PyTorch path's outputs (same files, same JSON keys, same predictions;
    Mask R-CNN: the same masks as COCO RLE) without importing torch, pycocotools or the OpenMMLab stack; detection
    inputs go through the test pipeline's Resize and the boxes (and masks) come back in the image's pixels."""
    import json
    import subprocess
    import sys

    import cv2
    import numpy as np
    case = exported(name)
    rng = np.random.default_rng(2)
    (tmp_path / 'in' / 'a').mkdir(parents=True)
    images = [tmp_path / 'in' / 'a' / 'x.png', tmp_path / 'in' / 'y.png', tmp_path / 'in' / 'z.png']
    for path, size in zip(images, [(131, 75), (97, 211), (97, 211)]):
        cv2.imwrite(str(path), cv2.GaussianBlur(rng.integers(0, 256, (*size, 3), dtype=np.uint8), (5, 5), 2))
    # PyTorch batch 1: mmdet pads a batch to its largest image, so there an image's boxes depend on its batch
    # mates; the runtime batches only images of one size, which is exactly the image alone.
    # In this process, under the config's scope as a fresh `tools/infer.py` process has it (after an mmseg model,
    # mmpretrain's inferencer resolved its unscoped PackInputs in the mmseg registry: KeyError).
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope(Config.fromfile(case.cfg).default_scope):
        code, _, err = run_in_process(capsys, 'infer', case.cfg, case.ckpt, *images, '--out-dir', tmp_path / 'torch',
                                      '--score-thr', 0.05)
    assert code == 0, err[-2000:]
    proc = subprocess.run([sys.executable, '-c', _NO_STACK, osp.join(ROOT, 'tools', 'infer.py'), str(case.onnx),
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
            assert len(ref['scores']) > 0 and ('masks' in ref) == name.startswith('mask_rcnn')
            _assert_same_detections([_arrays(ref)], [_arrays(got)])
        elif ref['task'] == 'segmentation':
            a, b = cv2.imread(ref['seg_map'], cv2.IMREAD_UNCHANGED), cv2.imread(got['seg_map'], cv2.IMREAD_UNCHANGED)
            assert a.shape == b.shape and (a == b).mean() >= 0.999
        else:
            assert [t['label'] for t in got['topk']] == [t['label'] for t in ref['topk']]
            assert max(abs(t['score'] - u['score']) for t, u in zip(got['topk'], ref['topk'])) <= 1e-3


def _arrays(record):
    """A detection record as the arrays _assert_same_detections compares (scores rounded to 5 digits, boxes to
    0.01 px in the JSON; masks decoded from their RLE)."""
    import numpy as np
    masks = None
    if 'masks' in record:
        from pycocotools import mask as mask_utils
        masks = np.stack([mask_utils.decode(dict(m, counts=m['counts'].encode())).astype(bool)
                          for m in record['masks']])
    return (np.array(record['bboxes'], np.float32).reshape(-1, 4), np.array(record['scores'], np.float32),
            np.array(record['labels'], np.int64), masks)
