"""vdense.Swin: the same function as mmdet's and timm's Swin on the same weights; every checkpoint layout loads."""
import pytest
import torch

from tests.helpers import assert_with_cp_same_gradients, perturb
from vdense.analysis import references
from vdense.converters import convert_swin, detect_swin_layout
from vdense.models import Swin

TINY = dict(embed_dims=32, depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8])


@pytest.fixture(scope='module')
def mmdet_swin_t():
    torch.manual_seed(0)
    return perturb(references.mmdet_swin_t())


@pytest.mark.parametrize('hw,shift_single_window', [((224, 224), True), ((333, 517), False)])
def test_parity_with_mmdet(mmdet_swin_t, hw, shift_single_window):
    # mmdet's state dict as it sits in a detector checkpoint: 'backbone.' prefix, Unfold-ordered patch merging.
    detector_ckpt = {'state_dict': {f'backbone.{k}': v for k, v in mmdet_swin_t.state_dict().items()}}
    ours = Swin('t', drop_path_rate=0., shift_single_window=shift_single_window).eval()
    missing, unexpected = ours.load_state_dict(convert_swin(detector_ckpt), strict=False)
    assert not missing and not unexpected
    x = torch.randn(1, 3, *hw)
    with torch.no_grad():
        for a, b in zip(mmdet_swin_t(x), ours(x)):
            assert a.shape == b.shape
            assert (a - b).abs().max() < 1e-4


def test_parity_with_timm_and_official_layout():
    ref = perturb(references.timm_swin_t())
    ours = Swin('t', drop_path_rate=0.).eval()
    missing, unexpected = ours.load_state_dict(convert_swin(ref.state_dict()), strict=False)
    assert sorted(missing) == sorted(f'norm{i}.{p}' for i in range(3) for p in ('weight', 'bias'))
    assert not unexpected
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        feats = ref.forward_intermediates(x, intermediates_only=True)
        outs = ours(x)
        for i, (f, o) in enumerate(zip(feats, outs)):
            normed = getattr(ours, f'norm{i}')(f.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
            assert (normed - o).abs().max() < 1e-4, i
        # timm's classifier path: final norm, pooled == our last output pooled
        pooled = ref.forward_head(ref.forward_features(x), pre_logits=True)
        assert (pooled - outs[3].mean((2, 3))).abs().max() < 1e-4

    # The official release layout (key 'model', downsample at the end of layers 0-2) maps to the same weights.
    official = {}
    for k, v in ref.state_dict().items():
        if '.downsample.' in k:
            i = int(k.split('.')[1])
            k = k.replace(f'layers.{i}.downsample', f'layers.{i - 1}.downsample')
        official[k.replace('head.fc.', 'head.')] = v
    assert detect_swin_layout(official) == 'official'
    converted = convert_swin({'model': official})
    for k, v in convert_swin(ref.state_dict()).items():
        torch.testing.assert_close(converted[k], v)


@pytest.mark.parametrize('hw', [(333, 517), (31, 45), (64, 64)])
def test_any_input_size(hw):
    model = Swin(TINY).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, *hw))
    h, w = -(-hw[0] // 4), -(-hw[1] // 4)
    for i, out in enumerate(outs):
        assert out.shape[1:] == (32 * 2 ** i, h, w)
        h, w = -(-h // 2), -(-w // 2)


def test_window_size_change_interpolates_tables(tmp_path, caplog):
    src = Swin(TINY, window_size=12)
    src.init_weights()
    torch.save({'state_dict': src.state_dict()}, tmp_path / 'w12.pth')
    w7 = Swin(TINY, window_size=7, init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'w12.pth')))
    w7.init_weights()
    table = w7.stages[0].blocks[0].attn.relative_position_bias_table
    assert table.shape == (13 * 13, 1)
    torch.save({'state_dict': w7.state_dict()}, tmp_path / 'w7.pth')
    back = Swin(TINY, window_size=12, init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'w7.pth')))
    back.init_weights()
    assert back.stages[0].blocks[0].attn.relative_position_bias_table.shape == (23 * 23, 1)
    # Everything except the tables came across unchanged.
    for k, v in src.state_dict().items():
        if 'relative_position' not in k:
            torch.testing.assert_close(back.state_dict()[k], v)


def test_frozen_stages_and_with_cp():
    torch.manual_seed(0)
    model = Swin(TINY, frozen_stages=1, drop_path_rate=0.)
    model.init_weights()
    model.train()
    assert not model.patch_embed.training and not model.stages[0].training and model.stages[1].training
    assert_with_cp_same_gradients(model, Swin(TINY, frozen_stages=1, drop_path_rate=0., with_cp=True))
    assert all(p.grad is None for p in model.stages[0].parameters())
    assert all(p.grad is not None for p in model.stages[1].blocks.parameters())


@pytest.mark.parametrize('arch,params', [('t', 27.52), ('s', 48.84), ('b', 86.74)])
def test_parameter_counts(arch, params):
    # Backbone without output norms and head: the classifiers' 28.29 / 49.61 / 87.77 M less head and final norm.
    n = sum(p.numel() for k, p in Swin(arch).named_parameters() if not k.startswith('norm'))
    assert round(n / 1e6, 2) == params
