"""Shared by the tests that run the tools as a user would (subprocesses, generated data)."""
import os
import os.path as osp
import subprocess
import sys

import torch

from tests.conftest import ROOT

DEMO_CONFIG = osp.join(ROOT, 'configs', 'demo', 'retinanet_scalablevit_demo.py')


def run_tool(tool, *args, timeout=900, check=True):
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', tool), *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{tool} {args} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}')
    return proc


def demo_data_options(coco_root):
    root = str(coco_root).rstrip('/') + '/'
    return ['train_dataloader.dataset.data_root=' + root, 'val_dataloader.dataset.data_root=' + root,
            'test_dataloader.dataset.data_root=' + root,
            f'val_evaluator.ann_file={root}annotations/instances_val.json',
            f'test_evaluator.ann_file={root}annotations/instances_val.json']


def data_root_options(root):
    """Points a segmentation/classification demo config (no annotation file) at generated data under ``root``."""
    root = str(root).rstrip('/') + '/'
    return [f'{loader}.dataset.data_root={root}' for loader in ('train_dataloader', 'val_dataloader',
                                                                 'test_dataloader')]


def perturb(module, seed=0):
    """Adds small seeded noise to every weight (zero-initialised tables and biases would hide layout mistakes) and
    returns the module in eval mode (mmdet's and mmpretrain's backbones' train() does not return self)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.02)
    module.eval()
    return module


def probe_loss(maps, seed=0):
    """A scalar whose gradient reaches every weight: each map against a fixed random tensor.

    The backbones' maps leave LayerNorms, so their mean square is about 1 whatever the weights are: a loss such as
    ``square().mean()`` back-propagates almost nothing (1e-8) past the output norms, and a gradient comparison
    through it passes whatever the gradients are."""
    g = torch.Generator().manual_seed(seed)
    loss = 0.
    for m in maps:
        dtype = torch.promote_types(m.dtype, torch.float32)  # low-precision maps summed in fp32, fp64 kept
        loss = loss + (m.to(dtype) * torch.randn(m.shape, generator=g).to(m.device, dtype)).mean()
    return loss


def assert_with_cp_same_gradients(plain, checkpointed, size=(64, 96)):
    """``checkpointed`` (``with_cp=True``) loads ``plain``'s weights; one backward of both on the same input gives
    the same gradients, and parameters that get none in one (frozen stages) get none in the other."""
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, *size)
    for model in (plain, checkpointed):
        model.train()
        probe_loss(model(x)).backward()
    for (name, p), q in zip(plain.named_parameters(), checkpointed.parameters()):
        assert (p.grad is None) == (q.grad is None), name
        if p.grad is not None:
            assert p.grad.abs().max() > 0, f'{name}: no gradient reached it, the comparison would be vacuous'
            torch.testing.assert_close(q.grad, p.grad, rtol=1e-5, atol=1e-5 * p.grad.abs().max().item(), msg=name)


def load_tool(name):
    """A tools/ script as a module (each load is fresh, so its main() sees this process's state)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(f'_vdense_tool_{name}', osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_in_process(capsys, tool, *args):
    """(exit code, stdout, stderr) of a tool's main() run in this process (fast: the stack is imported once)."""
    capsys.readouterr()
    try:
        load_tool(tool).main([str(a) for a in args])
        code = 0
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def fewer_training_rois(cfg):
    """Two-stage detectors: sample 64 RoIs per image from 200 proposals (COCO training: 512 from 2000). The same
    modules run, at an eighth of the cost (Cascade's three 4-conv box heads dominated the step)."""
    train_cfg = cfg.model.get('train_cfg') or {}
    if 'rpn_proposal' in train_cfg:
        train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=200)
    rcnn = train_cfg.get('rcnn')
    for stage in (rcnn if isinstance(rcnn, list) else [rcnn] if rcnn else []):
        stage.sampler.num = 64
