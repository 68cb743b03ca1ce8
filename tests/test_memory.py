"""Activation checkpointing (with_cp) in a Mask R-CNN training step: far less memory held for backward, same
gradients. Memory is measured deterministically as the bytes of the distinct storages autograd saves for backward
during the forward pass (what is alive at the step's peak, besides weights), not by timing or the allocator."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from tests.conftest import ROOT
from tests.helpers import fewer_training_rois
from vdense.engine.build import build_model_from_config, synthetic_batch


def _training_step(cfg, with_cp: bool):
    cfg.model.backbone.with_cp = with_cp
    # 64 RoIs from 200 proposals: a third less CPU time. with_cp acts on the backbone alone; with COCO's 512 RoIs
    # from 2000 the saved bytes drop to 0.35/0.37/0.27 (ScalableViT-S/Swin-T/MViTv2-T), with 64 to 0.29/0.31/0.21.
    fewer_training_rois(cfg)
    cfg.model.backbone.drop_path_rate = 0.  # the same function in both runs
    torch.manual_seed(0)
    model = build_model_from_config(cfg).train()
    torch.manual_seed(1)
    data = model.data_preprocessor(synthetic_batch(cfg, size=256), training=True)
    storages = {}

    def pack(t):
        storage = t.untyped_storage()
        storages[(storage.data_ptr(), storage.nbytes())] = storage.nbytes()
        return t

    torch.manual_seed(2)  # the RPN/RoI samplers draw the same samples in both runs
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        losses = model(**data, mode='loss')
    total, _ = model.parse_losses(losses)
    total.backward()
    grads = {k: p.grad for k, p in model.backbone.named_parameters() if p.grad is not None}
    return sum(storages.values()), grads


@pytest.mark.parametrize('name', ['mask_rcnn_scalablevit_s.py', 'mask_rcnn_swin_t.py', 'mask_rcnn_mvitv2_t.py'])
def test_with_cp_cuts_mask_rcnn_step_memory_with_equal_gradients(name):
    path = osp.join(ROOT, 'configs', name)
    plain_bytes, plain_grads = _training_step(Config.fromfile(path), with_cp=False)
    cp_bytes, cp_grads = _training_step(Config.fromfile(path), with_cp=True)
    assert cp_bytes <= 0.7 * plain_bytes, f'{name}: {cp_bytes / 2**20:.0f} MiB vs {plain_bytes / 2**20:.0f} MiB'
    assert plain_grads.keys() == cp_grads.keys() and plain_grads
    for k, g in plain_grads.items():
        torch.testing.assert_close(cp_grads[k], g, rtol=1e-4, atol=1e-6, msg=k)
