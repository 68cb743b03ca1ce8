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
    proc = run_tool('export_onnx.py', cfg, ckpt, out, '--check-size', 224, 224)
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
    proc = run_tool('export_onnx.py', cfg, ckpt, out, '--tolerance', 0, '--check-size', 224, 224, check=False)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith('error: ')
    assert 'not written' in proc.stderr and not out.exists()
    proc = run_tool('export_onnx.py', cfg, ckpt, ckpt, check=False)
    assert proc.returncode == 2 and 'input file' in proc.stderr


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
