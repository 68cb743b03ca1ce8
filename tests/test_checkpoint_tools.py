"""tools/convert_checkpoint.py and tools/export_backbone.py: layouts detected, keys reported, files loadable."""
import hashlib
import os.path as osp

import pytest
import torch

from tests.helpers import load_tool, run_in_process, run_tool
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


def test_convert_checkpoint_names_what_it_is_not(tmp_path, capsys):
    src = tmp_path / 'resnet.pth'
    torch.save({'conv1.weight': torch.zeros(64, 3, 7, 7), 'fc.weight': torch.zeros(10, 2048)}, src)
    code, out, err = run_in_process(capsys, 'convert_checkpoint', src, tmp_path / 'out.pth')
    assert code != 0 and 'no vdense backbone matches' in err + out
    assert 'Traceback' not in err


def test_export_backbone_from_a_training_checkpoint(tmp_path, capsys):
    backbone = ScalableViT(DEMO_ARCH)
    state = {'backbone.' + k: v for k, v in backbone.state_dict().items()}
    state['bbox_head.retina_cls.weight'] = torch.zeros(36, 64, 3, 3)
    cfg_text = f"model = dict(type='RetinaNet', backbone=dict(type='vdense.ScalableViT', arch={DEMO_ARCH!r}))\n"
    ckpt = tmp_path / 'epoch_5.pth'
    torch.save({'state_dict': state, 'meta': {'cfg': cfg_text, 'epoch': 5, 'iter': 1250},
                'optimizer': {'state': {}, 'param_groups': []}}, ckpt)
    code, stdout, err = run_in_process(capsys, 'export_backbone', ckpt, tmp_path / 'backbone.pth')
    assert code == 0, err[-3000:]
    out, = tmp_path.glob('backbone-*.pth')
    assert osp.basename(out) == f'backbone-{hashlib.sha256(out.read_bytes()).hexdigest()[:8]}.pth'
    exported = torch.load(out, weights_only=True)
    assert set(exported) == {'state_dict', 'meta'}  # no optimizer, no heads
    assert set(exported['state_dict']) == set(backbone.state_dict())
    assert exported['meta']['family'] == 'ScalableViT' and exported['meta']['arch'] == DEMO_ARCH
    assert exported['meta']['epoch'] == 5 and 'all keys matched' in stdout
    loaded = ScalableViT(DEMO_ARCH, init_cfg=dict(type='Pretrained', checkpoint=str(out)))
    loaded.init_weights()
    for k, v in backbone.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[k], v)


@pytest.fixture(scope='module')
def exported_demo_backbone(tmp_path_factory):
    """A backbone-only file as tools/export_backbone.py writes it, from a demo-arch training checkpoint."""
    tmp = tmp_path_factory.mktemp('exported')
    state = {'backbone.' + k: v for k, v in ScalableViT(DEMO_ARCH).state_dict().items()}
    cfg_text = f"model = dict(type='RetinaNet', backbone=dict(type='vdense.ScalableViT', arch={DEMO_ARCH!r}))\n"
    torch.save({'state_dict': state, 'meta': {'cfg': cfg_text, 'epoch': 1}}, tmp / 'epoch_1.pth')
    load_tool('export_backbone').main([str(tmp / 'epoch_1.pth'), str(tmp / 'backbone.pth'), '--no-hash'])
    return tmp / 'backbone.pth'


def test_convert_refuses_a_meta_arch_that_does_not_describe_the_file(tmp_path, exported_demo_backbone):
    # Without the check, depths of 1e7 build ten million blocks (hours): the timeout makes a hang a failure.
    checkpoint = torch.load(exported_demo_backbone, weights_only=True)
    checkpoint['meta']['arch']['depths'] = [10 ** 7, 2, 2, 2]
    torch.save(checkpoint, tmp_path / 'crafted.pth')
    proc = run_tool('convert_checkpoint.py', tmp_path / 'crafted.pth', tmp_path / 'out.pth', check=False,
                    timeout=120)
    assert proc.returncode == 2 and not list(tmp_path.glob('out*'))
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and 'Traceback' not in proc.stderr
    assert "meta['arch']: depths [10000000, 2, 2, 2]" in proc.stderr and 'holds only 168 tensors' in proc.stderr


def test_stored_arch_must_match_the_blocks_in_the_file(tmp_path):
    # Within bounds but not the file's: a training checkpoint's config naming 3 blocks in stage 2 (the file has 2),
    # and a backbone-only file whose meta names another stem width.
    import vdense.models  # noqa: F401
    from vdense.converters.publish import publish_backbone
    from vdense.engine.checkpoint_reader import CheckpointError
    state = ScalableViT(DEMO_ARCH).state_dict()
    deeper = dict(DEMO_ARCH, depths=[2, 2, 3, 2])
    cfg_text = f"model = dict(type='RetinaNet', backbone=dict(type='vdense.ScalableViT', arch={deeper!r}))\n"
    torch.save({'state_dict': {'backbone.' + k: v for k, v in state.items()}, 'meta': {'cfg': cfg_text}},
               tmp_path / 'epoch_1.pth')
    with pytest.raises(CheckpointError, match=r"model\.backbone\.arch: depths \[2, 2, 3, 2\] do not match the "
                                              r'file, whose stages hold 2-2-2-2 blocks'):
        publish_backbone(str(tmp_path / 'epoch_1.pth'), str(tmp_path / 'a.pth'))
    wider = dict(DEMO_ARCH, embed_dims=[64, 64, 128, 256])
    torch.save({'state_dict': state, 'meta': {'family': 'ScalableViT', 'arch': wider}}, tmp_path / 'bb.pth')
    with pytest.raises(CheckpointError, match=r"meta\['arch'\]: embed_dims \[64, 64, 128, 256\] do not match the "
                                              r'file, whose stem is 32 wide'):
        publish_backbone(str(tmp_path / 'bb.pth'), str(tmp_path / 'b.pth'))


def test_key_names_reach_the_terminal_escaped(tmp_path, exported_demo_backbone, capsys):
    checkpoint = torch.load(exported_demo_backbone, weights_only=True)
    checkpoint['state_dict']['\x1b[31mevil\rforged'] = torch.zeros(1)
    torch.save(checkpoint, tmp_path / 'ansi.pth')
    code, out, err = run_in_process(capsys, 'convert_checkpoint', tmp_path / 'ansi.pth', tmp_path / 'out.pth')
    assert code == 0, err[-3000:]
    assert '\x1b' not in out + err and '\r' not in out + err
    assert '1 unexpected: \\x1b[31mevil\\rforged' in out
