"""Checkpoints in vdense's layout from before the three backbones shared one stage shape (tests/data/legacy) keep
loading to the outputs the old code gave: backbone-only exports through ``init_cfg``, whole detector checkpoints
(``backbone.`` keys) through a plain strict ``load_state_dict`` as mmengine's ``load_from`` does, and through
tools/convert_checkpoint.py."""
import os.path as osp

import pytest
import torch
import torch.nn as nn

import vdense.models
from tests.conftest import ROOT
from tests.helpers import load_tool

LEGACY = osp.join(ROOT, 'tests', 'data', 'legacy')
FAMILIES = ['swin', 'scalablevit', 'mvit']


def _fixture(name):
    checkpoint = torch.load(osp.join(LEGACY, f'{name}_stage_layout_v1.pth'), weights_only=True)
    expected = torch.load(osp.join(LEGACY, f'{name}_stage_layout_v1_outputs.pth'), weights_only=True)
    return checkpoint, expected


def _build(checkpoint, expected, **kwargs):
    cls = getattr(vdense.models, checkpoint['meta']['family'])
    return cls(**expected['kwargs'], drop_path_rate=0., **kwargs)


def _assert_outputs(model, expected):
    with torch.no_grad():
        outs = model.eval()(expected['input'])
    assert len(outs) == len(expected['outputs'])
    for out, ref in zip(outs, expected['outputs']):
        torch.testing.assert_close(out, ref, rtol=0, atol=1e-5)


@pytest.mark.parametrize('name', FAMILIES)
def test_backbone_export_loads_through_init_cfg(name, caplog):
    checkpoint, expected = _fixture(name)
    model = _build(checkpoint, expected, init_cfg=dict(type='Pretrained',
                                                        checkpoint=osp.join(LEGACY, f'{name}_stage_layout_v1.pth')))
    model.init_weights()
    _assert_outputs(model, expected)


@pytest.mark.parametrize('name', FAMILIES)
def test_whole_model_checkpoint_loads_strictly(name):
    checkpoint, expected = _fixture(name)
    model = _build(checkpoint, expected)
    detector = nn.ModuleDict({'backbone': model})
    detector.load_state_dict({'backbone.' + k: v for k, v in checkpoint['state_dict'].items()}, strict=True)
    _assert_outputs(model, expected)
    # ... and what it saves now (version 2) loads back unchanged.
    again = _build(checkpoint, expected)
    nn.ModuleDict({'backbone': again}).load_state_dict(detector.state_dict(), strict=True)
    _assert_outputs(again, expected)


@pytest.mark.parametrize('name', FAMILIES)
def test_detector_checkpoint_loads_through_mmengine_load_checkpoint(name, tmp_path):
    # What load_from / tools/test.py do: mmengine's loader, with the version metadata an mmengine save keeps.
    from collections import OrderedDict

    from mmengine.runner.checkpoint import load_checkpoint
    checkpoint, expected = _fixture(name)
    state = OrderedDict(('backbone.' + k, v) for k, v in checkpoint['state_dict'].items())
    state._metadata = OrderedDict([('', {'version': 1}), ('backbone', {'version': 1})])
    torch.save({'state_dict': state, 'meta': {'epoch': 12}}, tmp_path / 'epoch_12.pth')
    model = _build(checkpoint, expected)
    load_checkpoint(nn.ModuleDict({'backbone': model}), str(tmp_path / 'epoch_12.pth'), strict=True)
    _assert_outputs(model, expected)


@pytest.mark.parametrize('name', FAMILIES)
def test_coverage_check_counts_the_old_layout_as_loading_renames_it(name):
    # tools/test.py and load_from refuse a checkpoint that fills too little of the model before loading it.
    from vdense.engine.coverage import MIN_COVERAGE_TEST, check_coverage
    checkpoint, expected = _fixture(name)
    detector = nn.ModuleDict({'backbone': _build(checkpoint, expected)})
    state = {'backbone.' + k: v for k, v in checkpoint['state_dict'].items()}
    assert check_coverage(detector, {'state_dict': state}, 'epoch_12.pth', MIN_COVERAGE_TEST, 'testing') == 1.0


@pytest.mark.parametrize('name', FAMILIES)
def test_convert_checkpoint_rewrites_the_old_layout(name, tmp_path):
    checkpoint, expected = _fixture(name)
    load_tool('convert_checkpoint').main([osp.join(LEGACY, f'{name}_stage_layout_v1.pth'), str(tmp_path / 'out.pth'),
                                          '--no-hash'])
    converted = torch.load(tmp_path / 'out.pth', weights_only=True)
    model = _build(checkpoint, expected)
    model.load_state_dict(converted['state_dict'], strict=True)
    assert set(converted['state_dict']) == set(model.state_dict())
    _assert_outputs(model, expected)


def test_swin_freezes_the_patch_merging_that_ends_a_frozen_stage():
    # as mmdet does: the merging sat at the end of stage i; it now starts stage i + 1
    model = vdense.models.Swin(dict(embed_dims=8, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1]), frozen_stages=1)
    model.train()
    assert model.stages[0].downsample is None
    assert not model.stages[1].downsample.training and model.stages[1].blocks.training
    assert all(not p.requires_grad for p in model.stages[1].downsample.parameters())
    assert model.stages[2].downsample.training
