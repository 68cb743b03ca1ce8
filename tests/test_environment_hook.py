"""The environment vdense is installed in (docs/install.md): plain mmdet/mmseg/mmpretrain work in every interpreter
without ``import vdense`` (the ``mmcv._ext`` startup hook, vdense/ops/site_hook.py), ``import vdense`` works from
any directory (editable install in compat mode, setup.py), and ``pip uninstall vdense`` removes the hook.

The venv is fresh: no system site-packages, so this interpreter's installed vdense and its hook are invisible. A
.pth file points at a folder of symlinks to everything this interpreter has installed except vdense (torch, the
OpenMMLab stack, pip, setuptools), and vdense is installed into the venv as `make install` does it."""
import os
import os.path as osp
import subprocess
import sys
import sysconfig
import textwrap

import pytest

from tests.conftest import ROOT

VDENSE_FILES = ('vdense', '_vdense', '__editable__')  # this interpreter's vdense install: not linked


def _run(py, code, cwd, check=True):
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'VIRTUAL_ENV')}
    env.update(PYTHONNOUSERSITE='1', PIP_ROOT_USER_ACTION='ignore', PIP_DISABLE_PIP_VERSION_CHECK='1')
    cmd = [py, '-c', code] if isinstance(code, str) else [py, *code]
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if check:
        assert proc.returncode == 0, f'{cmd} failed:\n{proc.stdout[-6000:]}'
    return proc


@pytest.fixture(scope='module')
def venv(tmp_path_factory):
    base = tmp_path_factory.mktemp('env')
    host = base / 'host_site'
    host.mkdir()
    site = sysconfig.get_paths()['purelib']
    # site-packages and the folders its .pth files add (e.g. a venv that reuses another interpreter's torch)
    folders = [site] + [line.strip() for pth in sorted(os.listdir(site))
                        if pth.endswith('.pth') and not pth.startswith(VDENSE_FILES)
                        for line in open(osp.join(site, pth)) if osp.isdir(line.strip())]
    for folder in folders:
        for name in os.listdir(folder):
            if not (name.startswith(VDENSE_FILES) or name.endswith('.pth') or name == '__pycache__'
                    or osp.lexists(host / name)):
                os.symlink(osp.join(folder, name), host / name)
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(base / 'venv')], check=True)
    py = str(base / 'venv' / 'bin' / 'python')
    venv_site = _run(py, 'import sysconfig; print(sysconfig.get_paths()["purelib"])', base).stdout.strip()
    with open(osp.join(venv_site, 'host_site.pth'), 'w') as f:
        f.write(f'{host}\n')
    assert _run(py, 'import mmcv._ext', base, check=False).returncode != 0, 'without vdense there is no mmcv._ext'
    # As tools/install.sh installs vdense.
    _run(py, ['-m', 'pip', 'install', '-q', '--no-deps', '--no-build-isolation', '-e', ROOT], base)
    return py, venv_site, base


def test_startup_hook_is_cheap_and_stack_imports_without_vdense(venv):
    py, _, cwd = venv
    out = _run(py, textwrap.dedent('''
        import sys
        assert '_vdense_mmcv_ext' in sys.modules, 'the .pth did not run'
        assert 'torch' not in sys.modules and 'vdense' not in sys.modules, 'the startup hook must import nothing'
        import mmdet.models, mmseg.models, mmpretrain.models
        from mmcv.ops import nms, RoIAlign
        import mmcv._ext
        assert mmcv._ext.__vdense_kernels__
        print('vdense' in sys.modules)
        '''), cwd).stdout
    assert out.split()[-1] == 'False', out  # the kernels only: vdense's package was not imported


def test_mmdet_swin_transformer_alone(venv):
    py, _, cwd = venv
    out = _run(py, textwrap.dedent('''
        import sys, torch
        from mmdet.models.backbones import SwinTransformer
        m = SwinTransformer(embed_dims=32, depths=(1, 1), num_heads=(1, 2), strides=(4, 2), out_indices=(0, 1))
        print([tuple(o.shape) for o in m(torch.rand(1, 3, 64, 64))], 'vdense' in sys.modules)
        '''), cwd).stdout
    assert out.strip().splitlines()[-1] == '[(1, 32, 16, 16), (1, 64, 8, 8)] False', out


def test_stock_mmdet_retinanet_trains_with_runner(venv, demo_root):
    """mmdet's own RetinaNet-R50 config (no custom_imports), a few iterations on the demo data."""
    py, _, cwd = venv
    out = _run(py, ['-c', textwrap.dedent('''
        import os.path as osp, sys
        import mmdet
        from mmengine.config import Config
        from mmengine.runner import Runner
        cfg = Config.fromfile(osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', 'retinanet',
                                       'retinanet_r50_fpn_1x_coco.py'))
        cfg.model.backbone.init_cfg = None  # no download
        cfg.model.bbox_head.num_classes = 4
        pipeline = cfg.train_dataloader.dataset.pipeline
        next(t for t in pipeline if t.type == 'Resize').scale = (96, 96)
        cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
        cfg.train_dataloader.dataset.update(
            data_root=sys.argv[1], ann_file='annotations/instances_train.json', data_prefix=dict(img='train/'),
            metainfo=dict(classes=('circle', 'square', 'triangle', 'star')))
        cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=100)
        for k in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg', 'test_evaluator',
                  'param_scheduler'):
            cfg[k] = None
        cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100, by_epoch=False)
        cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
        cfg.work_dir = sys.argv[2]
        runner = Runner.from_cfg(cfg)
        runner.train()
        import mmcv._ext
        loss = runner.message_hub.get_scalar('train/loss').current()
        print(runner.iter, loss > 0, mmcv._ext.__vdense_kernels__, 'vdense' in sys.modules)
        '''), str(demo_root / 'coco'), str(cwd / 'work_dir')], cwd).stdout
    assert out.strip().splitlines()[-1] == '2 True True False', out[-3000:]


def test_import_vdense_from_the_clones_parent(venv):
    """The clone's folder is named vdense and has a data/ folder (make demo): seen from its parent it is a
    namespace package candidate; the installed vdense must still be the one imported."""
    py, _, cwd = venv
    parent = cwd / 'parent'
    (parent / 'vdense' / 'data').mkdir(parents=True)
    out = _run(py, 'import vdense, vdense.data.checks; print(vdense.__file__, vdense.__version__)', parent).stdout
    assert out.split()[-2] == osp.join(ROOT, 'vdense', '__init__.py'), out


def test_pip_uninstall_removes_the_hook(venv):
    py, venv_site, cwd = venv
    assert {'_vdense_mmcv_ext.py', 'vdense_mmcv_ext.pth'} <= set(os.listdir(venv_site))
    _run(py, ['-m', 'pip', 'uninstall', '-y', '-q', 'vdense'], cwd)
    assert not [n for n in os.listdir(venv_site) if 'vdense' in n], os.listdir(venv_site)
    proc = _run(py, 'import sys; assert "_vdense_mmcv_ext" not in sys.modules; import mmcv._ext', cwd, check=False)
    assert proc.returncode != 0 and "No module named 'mmcv._ext'" in proc.stdout, proc.stdout
