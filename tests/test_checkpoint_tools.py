"""tools/convert_checkpoint.py and tools/export_backbone.py: layouts detected, keys reported, files loadable."""
import hashlib
import os.path as osp

import torch

from tests.helpers import run_tool
from vdense.converters.identify import identify_backbone
from vdense.models import ScalableViT

DEMO_ARCH = dict(embed_dims=[32, 64, 128, 256], depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8],
                 c_ratios=[1.25, 1.25, 1.25, 1], window_sizes=[6, 6, 6, 6], mlp_ratios=[2, 2, 2, 2])


def _official_scalable_vit_s(shapes, seed=1):
    g = torch.Generator().manual_seed(seed)
    return {'model': {k: torch.randn(s, generator=g) for k, s in shapes['scalable_vit_small'].items()}}


def test_identifies_family_and_variant_of_released_layouts(official_scalable_vit_shapes):
    import timm
    found = identify_backbone(_official_scalable_vit_s(official_scalable_vit_shapes))
    assert (found.family, found.arch) == ('ScalableViT', 's')
    assert not found.unexpected and not found.mismatched and not found.missing
    assert found.dropped == 6  # the 4096-wide head: head.0/1/3 weights and biases
    found = identify_backbone(timm.create_model('swin_small_patch4_window7_224', pretrained=False).state_dict())
    assert (found.family, found.arch) == ('Swin', 's')


def test_convert_checkpoint_writes_a_loadable_backbone(tmp_path, official_scalable_vit_shapes):
    src = tmp_path / 'scalablevit_s_official.pth'
    released = _official_scalable_vit_s(official_scalable_vit_shapes)
    torch.save(released, src)
    proc = run_tool('convert_checkpoint.py', src, tmp_path / 'scalablevit_s.pth')
    assert 'ScalableViT-s: ' in proc.stdout and 'all keys matched' in proc.stdout
    out, = tmp_path.glob('scalablevit_s-*.pth')
    converted = torch.load(out, weights_only=True)
    assert converted['meta']['family'] == 'ScalableViT' and converted['meta']['arch'] == 's'
    # Loading the converted file and loading the release directly give the same model.
    direct = ScalableViT('s', init_cfg=dict(type='Pretrained', checkpoint=str(src)))
    via = ScalableViT('s', init_cfg=dict(type='Pretrained', checkpoint=str(out)))
    direct.init_weights(), via.init_weights()
    torch.testing.assert_close(direct.state_dict()['norm3.weight'], via.state_dict()['norm3.weight'])
    torch.testing.assert_close(direct.state_dict()['stages.2.blocks.7.attn.q.weight'],
                               released['model']['stages.2.7.attn.q.weight'])


def test_convert_checkpoint_names_what_it_is_not(tmp_path):
    src = tmp_path / 'resnet.pth'
    torch.save({'conv1.weight': torch.zeros(64, 3, 7, 7), 'fc.weight': torch.zeros(10, 2048)}, src)
    proc = run_tool('convert_checkpoint.py', src, tmp_path / 'out.pth', check=False)
    assert proc.returncode != 0 and 'no vdense backbone matches' in proc.stderr + proc.stdout
    assert 'Traceback' not in proc.stderr


def test_export_backbone_from_a_training_checkpoint(tmp_path):
    backbone = ScalableViT(DEMO_ARCH)
    state = {'backbone.' + k: v for k, v in backbone.state_dict().items()}
    state['bbox_head.retina_cls.weight'] = torch.zeros(36, 64, 3, 3)
    cfg_text = f"model = dict(type='RetinaNet', backbone=dict(type='vdense.ScalableViT', arch={DEMO_ARCH!r}))\n"
    ckpt = tmp_path / 'epoch_5.pth'
    torch.save({'state_dict': state, 'meta': {'cfg': cfg_text, 'epoch': 5, 'iter': 1250},
                'optimizer': {'state': {}, 'param_groups': []}}, ckpt)
    proc = run_tool('export_backbone.py', ckpt, tmp_path / 'backbone.pth')
    out, = tmp_path.glob('backbone-*.pth')
    assert osp.basename(out) == f'backbone-{hashlib.sha256(out.read_bytes()).hexdigest()[:8]}.pth'
    exported = torch.load(out, weights_only=True)
    assert set(exported) == {'state_dict', 'meta'}  # no optimizer, no heads
    assert set(exported['state_dict']) == set(backbone.state_dict())
    assert exported['meta']['family'] == 'ScalableViT' and exported['meta']['arch'] == DEMO_ARCH
    assert exported['meta']['epoch'] == 5 and 'all keys matched' in proc.stdout
    loaded = ScalableViT(DEMO_ARCH, init_cfg=dict(type='Pretrained', checkpoint=str(out)))
    loaded.init_weights()
    for k, v in backbone.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[k], v)
