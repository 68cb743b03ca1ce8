"""Whole detectors on each device torch offers: a RetinaNet and a Mask R-CNN train step and a test pass, through
vdense's torch/torchvision kernels for mmcv's ops where mmcv's compiled ops are absent, and (CUDA) 200 AMP steps.

The CPU cases run everywhere (CI); the CUDA cases run on a GPU machine: ``python -m pytest
tests/test_detectors_on_device.py`` (issue 17's GPU checks)."""
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from tests.conftest import ROOT
from vdense.engine.build import build_model_from_config, synthetic_batch

DEVICES = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])
DETECTORS = {'retinanet': f'{ROOT}/configs/demo/retinanet_scalablevit_demo.py',
             'mask_rcnn': f'{ROOT}/configs/demo/mask_rcnn_scalablevit_demo.py'}
FAMILIES = {
    'scalablevit': None,
    'swin': dict(_delete_=True, type='vdense.Swin', arch=dict(embed_dims=32, depths=[2, 2, 2, 2],
                                                            num_heads=[1, 2, 4, 8]), window_size=6),
    'mvitv2': dict(_delete_=True, type='vdense.MViT', arch=dict(embed_dims=32, depths=[1, 2, 3, 2], num_heads=1),
                   img_size=192, use_hwin=True, window_size=24),
}


def _detector(task, family, device):
    cfg = Config.fromfile(DETECTORS[task])
    if FAMILIES[family] is not None:
        cfg.merge_from_dict({'model.backbone': FAMILIES[family]})
    torch.manual_seed(0)
    return cfg, build_model_from_config(cfg).to(device)


def _batch(cfg, size=192):
    return synthetic_batch(cfg, size=size, batch_size=2)


# Every family on CUDA; on the CPU one (tests/test_configs.py already trains every config a step there).
CASES = [(task, family, device) for device in DEVICES for task in sorted(DETECTORS) for family in sorted(FAMILIES)
         if device == 'cuda' or family == 'scalablevit']


@pytest.mark.parametrize('task, family, device', CASES)
def test_train_step_and_test_pass(task, family, device):
    cfg, model = _detector(task, family, device)
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-4))
    model.train()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    losses = model.train_step(_batch(cfg), optim)
    assert losses and all(torch.isfinite(v).all() for v in losses.values()), losses
    params = dict(model.named_parameters())
    assert all(p.device.type == device and torch.isfinite(p).all() for p in params.values())
    moved = [n for n, p in params.items() if not torch.equal(p, before[n])]
    # AdamW's first step moves every weight that got a gradient: the backbone's first conv and the heads' last.
    assert any(n.startswith('backbone.') for n in moved) and any('head' in n for n in moved), moved[:5]
    model.eval()
    # Keep every box: an untrained model scores under the default threshold, and nms/RoIAlign must really run.
    if task == 'retinanet':
        model.test_cfg.score_thr = 0.0
    else:
        model.roi_head.test_cfg.score_thr = 0.0
    with torch.no_grad():
        results = model.test_step(_batch(cfg))
    assert len(results) == 2
    for sample in results:
        pred = sample.pred_instances
        assert len(pred) > 0 and pred.bboxes.shape[1] == 4 and torch.isfinite(pred.bboxes).all()
        if task == 'mask_rcnn':
            assert pred.masks.shape[-2:] == (192, 192)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device (bf16/fp16 autocast on a GPU)')
@pytest.mark.parametrize('dtype', ['bfloat16', 'float16'])
def test_retinanet_200_amp_steps_stay_finite(dtype):
    cfg, model = _detector('retinanet', 'scalablevit', 'cuda')
    optim = AmpOptimWrapper(optimizer=torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05),
                            dtype=dtype, loss_scale='dynamic', clip_grad=dict(max_norm=10.0))
    model.train()
    first = last = None
    for step in range(200):
        losses = model.train_step(_batch(cfg), optim)
        total = sum(v for v in losses.values()).item()
        assert all(torch.isfinite(v).all() for v in losses.values()), f'step {step}: {losses}'
        first = total if first is None else first
        last = total
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert last < first, f'the loss did not fall in 200 steps ({first:.3f} -> {last:.3f})'
