"""vdense/ops: mmcv's compiled ops on torch/torchvision kernels (issue 15).

- golden: vdense's kernels, driven through mmcv's own Python wrappers, against outputs recorded once from mmcv's
  compiled ops (tests/data/ops/golden.pt, tests/data/ops/record_golden.py); always runs, CPU, and CUDA where present;
- compiled: the same wrappers on random inputs, vdense's kernels against mmcv's compiled ones, only where those are
  installed (`make install MMCV_OPS=compiled`);
- hook: in subprocesses, `mmcv._ext` is served by vdense when the compiled one is absent (and mmcv's own otherwise),
  however mmcv.ops is reached, and an op without a kernel ends with one line.
"""
import importlib
import importlib.util
import os
import os.path as osp
import subprocess
import sys
import textwrap
import types

import pytest
import torch

import vdense  # noqa: F401  (registers the mmcv._ext finder before mmcv.ops is imported)
from tests.conftest import ROOT
from vdense.ops import COMPILED_OPS_HINT, MissingKernelError, compiled_ops_installed
from vdense.ops import ext as vext

GOLDEN = osp.join(ROOT, 'tests', 'data', 'ops', 'golden.pt')
COMPILED = compiled_ops_installed()
needs_compiled = pytest.mark.skipif(not COMPILED, reason="mmcv's compiled ops are not installed "
                                    '(make install MMCV_OPS=compiled)')
DEVICES = ['cpu', pytest.param('cuda', marks=pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA'))]


def _vdense_ext():
    return types.SimpleNamespace(**{name: getattr(vext, name) for name in vext.__all__})


@pytest.fixture
def vdense_kernels(monkeypatch):
    """mmcv's Python wrappers (nms, RoIAlign, sigmoid_focal_loss) calling vdense's kernels, whatever is installed."""
    ns = _vdense_ext()
    for mod in ('nms', 'roi_align', 'focal_loss'):
        monkeypatch.setattr(importlib.import_module(f'mmcv.ops.{mod}'), 'ext_module', ns)
    import mmcv.ops
    return mmcv.ops


@pytest.fixture(scope='module')
def golden():
    return torch.load(GOLDEN, weights_only=True)


def _to(case, device):
    return {k: v.detach().to(device) if isinstance(v, torch.Tensor) else v for k, v in case.items()}


def _leaf(t, dtype=None):
    """A fresh leaf that requires grad (``.to`` alone may return the golden tensor itself)."""
    return t.detach().to(dtype or t.dtype).clone().requires_grad_()


# ------------------------------------------------------------------------------------------------- golden

@pytest.mark.parametrize('device', DEVICES)
def test_nms_golden(vdense_kernels, golden, device):
    for i, c in enumerate(golden['nms']):
        c = _to(c, device)
        kw = {k: c[k] for k in ('score_threshold', 'max_num') if k in c}
        dets, inds = vdense_kernels.nms(c['boxes'], c['scores'], c['iou_threshold'], offset=c['offset'], **kw)
        assert torch.equal(inds.cpu(), c['inds'].cpu()), f'nms case {i}'
        assert torch.equal(dets.cpu(), c['dets'].cpu()), f'nms case {i}'
        assert inds.dtype == torch.long and inds.device.type == device


@pytest.mark.parametrize('device', DEVICES)
def test_nms_numpy_and_half(vdense_kernels, golden, device):
    c = golden['nms'][0]
    _, inds = vdense_kernels.nms(c['boxes'].numpy(), c['scores'].numpy(), c['iou_threshold'])
    assert (inds == c['inds'].numpy()).all()
    # float16 boxes (mmcv's CPU kernel takes float32 only): computed in float32, same indices on exact inputs.
    boxes, scores = c['boxes'].round().to(device), c['scores'].to(device)
    _, ref = vdense_kernels.nms(boxes, scores, 0.5)
    _, got = vdense_kernels.nms(boxes.half(), scores.half(), 0.5)
    assert torch.equal(got, ref)


@pytest.mark.parametrize('device', DEVICES)
def test_batched_nms_golden(vdense_kernels, golden, device):
    for i, c in enumerate(golden['batched_nms']):
        c = _to(c, device)
        dets, keep = vdense_kernels.batched_nms(c['boxes'], c['scores'], c['idxs'], dict(c['nms_cfg']),
                                                c['class_agnostic'])
        assert torch.equal(keep.cpu(), c['keep'].cpu()), f'batched_nms case {i}'
        assert torch.equal(dets.cpu(), c['dets'].cpu()), f'batched_nms case {i}'


@pytest.mark.parametrize('device', DEVICES)
def test_roi_align_golden(vdense_kernels, golden, device):
    for i, c in enumerate(golden['roi_align']):
        c = _to(c, device)
        half = c['input'].dtype == torch.float16
        tol = dict(atol=2e-3, rtol=2e-3) if half else dict(atol=1e-5, rtol=1e-5)
        x = _leaf(c['input'])
        op = vdense_kernels.RoIAlign(c['output_size'], c['spatial_scale'], c['sampling_ratio'], aligned=c['aligned'])
        out = op(x, c['rois'])
        out.backward(c['grad_output'])
        assert out.dtype == c['output'].dtype and out.shape == c['output'].shape
        torch.testing.assert_close(out.cpu(), c['output'].cpu(), **tol, msg=lambda m: f'RoIAlign case {i}: {m}')
        torch.testing.assert_close(x.grad.cpu(), c['grad_input'].cpu(), **tol,
                                   msg=lambda m: f'RoIAlign backward case {i}: {m}')


@pytest.mark.parametrize('device', DEVICES)
def test_roi_align_bfloat16(vdense_kernels, golden, device):
    """mmcv's kernels have no bfloat16; vdense's compute it in float32 (checked against the golden outputs above)
    and round the result: the float32 result on the bfloat16-rounded inputs, rounded to bfloat16."""
    for c in golden['roi_align']:
        if c['input'].dtype != torch.float32 or c['rois'].size(0) == 0:
            continue
        c = _to(c, device)
        op = vdense_kernels.RoIAlign(c['output_size'], c['spatial_scale'], c['sampling_ratio'], aligned=c['aligned'])
        results = []
        for dtype in (torch.bfloat16, torch.float32):
            x = _leaf(c['input'].bfloat16(), dtype)
            out = op(x, c['rois'].bfloat16().to(dtype))
            out.backward(c['grad_output'].bfloat16().to(dtype))
            assert out.dtype == dtype and x.grad.dtype == dtype
            results.append((out.detach(), x.grad))
        (out, grad), (ref_out, ref_grad) = results
        torch.testing.assert_close(out, ref_out.bfloat16())
        torch.testing.assert_close(grad, ref_grad.bfloat16())


@pytest.mark.parametrize('device', DEVICES)
def test_sigmoid_focal_loss_golden(vdense_kernels, golden, device):
    for i, c in enumerate(golden['focal']):
        c = _to(c, device)
        for dtype, tol in ((torch.float32, dict(atol=1e-5, rtol=1e-5)), (torch.float16, dict(atol=2e-3, rtol=2e-3)),
                           (torch.bfloat16, dict(atol=2e-2, rtol=2e-2))):
            x = _leaf(c['input'], dtype)
            ref_in = x.detach().float()  # the golden formula at the rounded inputs, for float16/bfloat16
            loss = vdense_kernels.sigmoid_focal_loss(x, c['target'], c['gamma'], c['alpha'], c['weight'], 'none')
            loss.backward(torch.ones_like(loss))
            assert loss.dtype == dtype and x.grad.dtype == dtype
            if dtype == torch.float32:
                ref_loss, ref_grad = c['loss'], c['grad']
            else:
                ref_loss, ref_grad = (t.to(device) for t in _focal_reference(ref_in.cpu(), c['target'].cpu(),
                                                                           c['weight'], c['gamma'], c['alpha']))
            torch.testing.assert_close(loss.float(), ref_loss.float(), **tol, msg=lambda m: f'focal case {i}: {m}')
            torch.testing.assert_close(x.grad.float(), ref_grad.float(), **tol,
                                       msg=lambda m: f'focal backward case {i}: {m}')


def _focal_reference(x, target, weight, gamma, alpha):
    """record_golden.focal_reference: mmcv's CUDA focal-loss kernel transcribed in float32."""
    spec = importlib.util.spec_from_file_location('record_golden', osp.join(ROOT, 'tests', 'data', 'ops',
                                                                            'record_golden.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.focal_reference(x, target, None if weight is None else weight.cpu(), gamma, alpha)


def test_sigmoid_focal_loss_reductions(vdense_kernels, golden):
    c = golden['focal'][1]
    x = _leaf(c['input'])
    for reduction, expect in (('mean', c['loss'].sum() / x.size(0)), ('sum', c['loss'].sum())):
        x.grad = None
        loss = vdense_kernels.sigmoid_focal_loss(x, c['target'], c['gamma'], c['alpha'], c['weight'], reduction)
        loss.backward()
        torch.testing.assert_close(loss, expect)
        scale = 1 / x.size(0) if reduction == 'mean' else 1.0
        torch.testing.assert_close(x.grad, c['grad'] * scale)


def test_sigmoid_focal_loss_background_rows_with_weight(vdense_kernels):
    """target == num_classes is background: negative for every class, and not scaled by ``weight``."""
    x = torch.randn(4, 3)
    target = torch.tensor([0, 3, 2, 3])
    w = torch.tensor([2., 3., 4.])
    loss = vdense_kernels.sigmoid_focal_loss(x, target, 2.0, 0.25, w, 'none')
    plain = vdense_kernels.sigmoid_focal_loss(x, target, 2.0, 0.25, None, 'none')
    torch.testing.assert_close(loss[[1, 3]], plain[[1, 3]])
    torch.testing.assert_close(loss[[0, 2]], plain[[0, 2]] * torch.tensor([[2.], [4.]]))


def test_roi_align_max_mode_is_one_line_error(vdense_kernels):
    op = vdense_kernels.RoIAlign((2, 2), 1.0, 0, pool_mode='max')
    with pytest.raises(MissingKernelError) as e:
        op(torch.randn(1, 1, 4, 4), torch.tensor([[0., 0., 0., 3., 3.]]))
    assert "'roi_align_forward' with pool_mode='max'" in str(e.value) and COMPILED_OPS_HINT in str(e.value)
    assert '\n' not in str(e.value)


def test_missing_kernel_names():
    stub = vext.missing_kernel('deform_conv_forward')
    with pytest.raises(MissingKernelError, match=r"^mmcv op 'deform_conv_forward' .*make install MMCV_OPS=compiled$"):
        stub()
    with pytest.raises(AttributeError):
        vext.missing_kernel('__path__')
    assert not issubclass(MissingKernelError, (ImportError, AttributeError))


# ------------------------------------------------------------------------------ against the compiled ops

@needs_compiled
@pytest.mark.parametrize('device', DEVICES)
def test_against_compiled_ops(device):
    import mmcv._ext as compiled
    import mmcv.ops

    from vdense.ops import kernels_in_use
    assert kernels_in_use() == 'compiled'
    mods = [importlib.import_module(f'mmcv.ops.{m}') for m in ('nms', 'roi_align', 'focal_loss')]
    g = torch.Generator().manual_seed(0)

    def run(ns, fn):
        saved = [m.ext_module for m in mods]
        for m in mods:
            m.ext_module = ns
        try:
            return fn()
        finally:
            for m, s in zip(mods, saved):
                m.ext_module = s

    for trial in range(5):
        n = 300
        xy = torch.rand(n, 2, generator=g) * 200 - 20
        boxes = torch.cat([xy, xy + torch.rand(n, 2, generator=g) * 60], 1).clamp(0, 160).to(device)
        scores = torch.rand(n, generator=g).to(device)
        idxs = torch.randint(0, 4, (n,), generator=g).to(device)
        for thr in (0.3, 0.6):
            for offset in (0, 1):
                a = run(compiled, lambda: mmcv.ops.nms(boxes, scores, thr, offset=offset))
                b = run(_vdense_ext(), lambda: mmcv.ops.nms(boxes, scores, thr, offset=offset))
                assert torch.equal(a[1], b[1]) and torch.equal(a[0], b[0])
            a = run(compiled, lambda: mmcv.ops.batched_nms(boxes, scores, idxs, dict(iou_threshold=thr)))
            b = run(_vdense_ext(), lambda: mmcv.ops.batched_nms(boxes, scores, idxs, dict(iou_threshold=thr)))
            assert torch.equal(a[1], b[1]) and torch.equal(a[0], b[0])

        feat = torch.randn(2, 4, 20, 24, generator=g).to(device)
        k = 30
        rxy = torch.rand(k, 2, generator=g) * 110 - 10
        rois = torch.cat([torch.randint(0, 2, (k, 1), generator=g).float(), rxy,
                          rxy + torch.rand(k, 2, generator=g) * 50], 1).to(device)
        grad_out = torch.randn(k, 4, 7, 7, generator=g).to(device)
        for aligned in (True, False):
            for sr in (0, 2):
                def fwd_bwd(dtype=torch.float32):
                    x = _leaf(feat, dtype)
                    out = mmcv.ops.RoIAlign((7, 7), 0.2, sr, aligned=aligned)(x, rois.to(dtype))
                    out.backward(grad_out.to(dtype))
                    assert x.grad is not None
                    return out.detach(), x.grad
                for dtype, tol in ((torch.float32, dict(atol=1e-5, rtol=1e-5)),
                                   (torch.float16, dict(atol=3e-3, rtol=3e-3))):
                    oa, ga = run(compiled, lambda: fwd_bwd(dtype))
                    ob, gb = run(_vdense_ext(), lambda: fwd_bwd(dtype))
                    torch.testing.assert_close(ob, oa, **tol)
                    torch.testing.assert_close(gb, ga, **tol)

        if device == 'cuda':  # mmcv has no CPU focal-loss kernel
            logits = (torch.randn(64, 8, generator=g) * 3).to(device)
            target = torch.randint(0, 9, (64,), generator=g).to(device)
            for dtype in (torch.float32, torch.float16):
                def focal():
                    x = _leaf(logits, dtype)
                    loss = mmcv.ops.sigmoid_focal_loss(x, target, 2.0, 0.25, None, 'none')
                    loss.backward(torch.ones_like(loss))
                    return loss.detach().float(), x.grad.float()
                (la, ga), (lb, gb) = run(compiled, focal), run(_vdense_ext(), focal)
                tol = dict(atol=1e-5, rtol=1e-5) if dtype == torch.float32 else dict(atol=5e-3, rtol=5e-3)
                torch.testing.assert_close(lb, la, **tol)
                torch.testing.assert_close(gb, ga, **tol)


# --------------------------------------------------------------------------------------- the import hook

# Run first in the subprocesses below when the compiled extension is installed but must look absent: mmcv._ext is
# then looked up everywhere except on the file system (so vdense's appended finder, if registered, serves it).
HIDE_COMPILED = textwrap.dedent('''
    import importlib.machinery, sys
    class HideCompiled:
        def find_spec(self, fullname, path=None, target=None):
            if fullname != 'mmcv._ext':
                return None
            for f in sys.meta_path:
                if f is not self and f is not importlib.machinery.PathFinder:
                    spec = f.find_spec(fullname, path, target)
                    if spec is not None:
                        return spec
            raise ModuleNotFoundError("No module named 'mmcv._ext'", name='mmcv._ext')
    sys.meta_path.insert(0, HideCompiled())
''')

MODES = ['as_installed', pytest.param('compiled_hidden', marks=needs_compiled)]


def _run(code, mode, cwd=ROOT, timeout=300):
    prefix = HIDE_COMPILED if mode == 'compiled_hidden' else ''
    return subprocess.run([sys.executable, '-c', prefix + textwrap.dedent(code)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, 'PYTHONWARNINGS': 'ignore'})


def _expected_kernels(mode):
    return 'compiled' if COMPILED and mode == 'as_installed' else 'vdense'


@pytest.mark.parametrize('mode', MODES)
def test_import_vdense_then_mmdet(mode):
    proc = _run('''
        import vdense
        import mmdet.models, mmseg.models, mmpretrain.models, vdense.models
        from mmcv.ops import nms, RoIAlign, batched_nms
        from vdense.ops import kernels_in_use
        import torch
        dets, keep = nms(torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]]), torch.tensor([.9, .8]), 0.5)
        print(kernels_in_use(), keep.tolist())
    ''', mode)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[-2:] == [_expected_kernels(mode), '[0]']


@pytest.mark.parametrize('mode', MODES)
def test_foreign_config_custom_imports(mode, tmp_path):
    """A foreign mmdet config naming only ``custom_imports=['vdense.models']``: mmengine imports it while loading
    the config, before the registry imports mmdet.models (and mmcv.ops) to build anything."""
    cfg = tmp_path / 'foreign.py'
    cfg.write_text("custom_imports = dict(imports=['vdense.models'], allow_failed_imports=False)\n"
                   "default_scope = 'mmdet'\n"
                   "model = dict(type='RoIAlign', output_size=7, sampling_ratio=0)\n")
    proc = _run(f'''
        from mmengine.config import Config
        cfg = Config.fromfile({str(cfg)!r})
        from mmdet.utils import register_all_modules
        register_all_modules()
        from mmdet.registry import MODELS
        import mmdet.models.roi_heads
        import torch
        import mmcv.ops
        op = mmcv.ops.RoIAlign(7, 1.0, 0)
        out = op(torch.randn(1, 2, 8, 8), torch.tensor([[0., 1., 1., 6., 6.]]))
        from vdense.ops import kernels_in_use
        print(kernels_in_use(), list(out.shape) == [1, 2, 7, 7])
    ''', mode, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[-2:] == [_expected_kernels(mode), 'True']


@pytest.mark.parametrize('mode', MODES)
def test_op_without_kernel_ends_with_one_line(mode):
    proc = _run('''
        import vdense, torch
        from mmcv.ops import DeformConv2d
        from vdense.ops import kernels_in_use
        if kernels_in_use() == 'compiled':
            print('compiled'); raise SystemExit(0)
        conv = DeformConv2d(2, 2, 3, padding=1)
        conv(torch.randn(1, 2, 5, 5), torch.zeros(1, 18, 5, 5))
    ''', mode)
    if _expected_kernels(mode) == 'compiled':
        assert proc.returncode == 0 and proc.stdout.strip() == 'compiled', proc.stderr[-3000:]
        return
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: mmcv op 'deform_conv_forward'") and lines[0].endswith(COMPILED_OPS_HINT)


def test_without_import_vdense_the_startup_hook_serves_mmcv_ext():
    """In the environment vdense is installed in, ``mmcv._ext`` resolves without ``import vdense`` (the startup
    hook, vdense/ops/site_hook.py): to mmcv's compiled ops where installed, else to vdense's kernels alone (the
    vdense package itself is not imported). Uninstalling: tests/test_environment_hook.py."""
    proc = _run('''
        import importlib.util, sys
        assert '_vdense_mmcv_ext' in sys.modules and 'torch' not in sys.modules
        spec = importlib.util.find_spec('mmcv._ext')
        import mmcv._ext
        print('vdense' in sys.modules, spec.origin == 'vdense.ops.ext', getattr(mmcv._ext, '__vdense_kernels__', False))
    ''', 'as_installed', cwd='/')
    assert proc.returncode == 0, proc.stderr[-3000:]
    served = str(_expected_kernels('as_installed') == 'vdense')
    assert proc.stdout.split() == ['False', served, served]
