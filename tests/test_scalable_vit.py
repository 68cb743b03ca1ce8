"""vdense.ScalableViT: parity with the reference semantics, any input size, the backbone contract."""
import math

import pytest
import torch

from tests.helpers import assert_with_cp_same_gradients, probe_loss
from tests.reference.scalable_vit_reference import RefScalableViT
from vdense.converters import convert_scalable_vit, scalable_vit_keys_from_v1
from vdense.models.backbones.scalable_vit import IWSA, ScalableViT

TINY = dict(embed_dims=[32, 64, 128, 256], depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8],
            c_ratios=[1.25, 1.25, 1.25, 1])


def _randomize(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.05)


def _ref_and_ours(arch):
    ours = ScalableViT(arch, drop_path_rate=0.).eval()
    cfg = ours.arch_settings
    ref = RefScalableViT(cfg['embed_dims'], cfg['depths'], cfg['num_heads'], cfg['c_ratios']).eval()
    _randomize(ref)
    missing, unexpected = ours.load_state_dict(convert_scalable_vit({'model': ref.state_dict()}), strict=False)
    assert not unexpected
    assert sorted(missing) == sorted(f'norm{i}.{p}' for i in range(3) for p in ('weight', 'bias'))
    return ref, ours


@pytest.mark.parametrize('arch', [TINY, 's'])
def test_parity_with_reference_at_224(arch):
    ref, ours = _ref_and_ours(arch)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        ref_maps, _ = ref(x)
        outs = ours(x)
        for i, (out, ref_map) in enumerate(zip(outs, ref_maps)):
            normed = getattr(ours, f'norm{i}')(ref_map.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
            assert out.shape == ref_map.shape
            torch.testing.assert_close(out, normed, rtol=1e-5, atol=2e-5)
        # The last output norm is the authors' final norm: mean-pooling it gives their pre-head features.
        torch.testing.assert_close(outs[3].mean((2, 3)), ref.norm(ref_maps[3].flatten(2).transpose(1, 2)).mean(1),
                                   rtol=1e-5, atol=2e-5)


@pytest.mark.parametrize('hw', [(333, 517), (17, 45), (224, 224), (64, 96)])
def test_any_input_size(hw):
    model = ScalableViT(TINY).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, *hw))
    h, w = math.ceil(hw[0] / 4), math.ceil(hw[1] / 4)  # the stem, then ceil(x / 2) per stage
    for i, out in enumerate(outs):
        assert out.shape[1:] == (TINY['embed_dims'][i], h, w)
        assert torch.isfinite(out).all()
        h, w = math.ceil(h / 2), math.ceil(w / 2)


def _naive_iwsa(attn: IWSA, x):
    """Window attention over the windows clipped to the map, one window at a time (no padding at all)."""
    B, H, W, C = x.shape
    ws, nh = attn.window_size, attn.num_heads
    q, k, v = attn.qkv(x).chunk(3, dim=-1)
    lim = attn.lim_func(v.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    out = torch.zeros_like(q)
    for y0 in range(0, H, ws):
        for x0 in range(0, W, ws):
            sl = (slice(None), slice(y0, y0 + ws), slice(x0, x0 + ws))
            qw, kw, vw = (t[sl] for t in (q, k, v))
            h, w = qw.shape[1:3]
            qw, kw, vw = (t.reshape(B, h * w, nh, -1).transpose(1, 2) for t in (qw, kw, vw))
            a = (qw @ kw.transpose(-2, -1) * (C // nh) ** -0.5).softmax(-1)
            out[sl] = (a @ vw).transpose(1, 2).reshape(B, h, w, C)
    return attn.proj(out + lim)


@pytest.mark.parametrize('hw', [(14, 21), (10, 17), (3, 5)])
def test_iwsa_padding_is_invisible(hw):
    torch.manual_seed(0)
    attn = IWSA(32, 2, window_size=7).eval()
    x = torch.randn(2, *hw, 32)
    with torch.no_grad():
        torch.testing.assert_close(attn(x), _naive_iwsa(attn, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('out_indices', [(0, 1, 2, 3), (1, 2, 3), (3,), (0, 2)])
def test_out_indices(out_indices):
    model = ScalableViT(TINY, out_indices=out_indices).eval()
    outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [TINY['embed_dims'][i] for i in out_indices]
    assert {n for n, _ in model.named_children() if n.startswith('norm')} == {f'norm{i}' for i in out_indices}
    with pytest.raises(ValueError, match='out_indices'):
        ScalableViT(TINY, out_indices=(4,))


@pytest.mark.parametrize('frozen_stages', [0, 1, 2])
def test_frozen_stages(frozen_stages):
    model = ScalableViT(TINY, frozen_stages=frozen_stages, drop_path_rate=0.1)
    model.init_weights()
    model.train()
    probe_loss(model(torch.randn(2, 3, 64, 64))).backward()
    frozen = [model.patch_embed]
    for i in range(frozen_stages):
        frozen += [model.stages[i], getattr(model, f'norm{i}')]
    frozen_ids = {id(p) for m in frozen for p in m.parameters()}
    for m in frozen:
        assert not m.training
        assert all(not p.requires_grad and p.grad is None for p in m.parameters())
    trainable = [p for p in model.parameters() if id(p) not in frozen_ids]
    assert trainable and all(p.requires_grad for p in trainable)
    assert model.stages[-1].training
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.stages[-1].parameters())


def test_with_cp_gives_the_same_gradients():
    torch.manual_seed(0)
    plain = ScalableViT(TINY, drop_path_rate=0.)
    plain.init_weights()
    assert_with_cp_same_gradients(plain, ScalableViT(TINY, drop_path_rate=0., with_cp=True))


def test_drop_path_rises_linearly():
    model = ScalableViT('s', drop_path_rate=0.3)
    rates = [blk.drop_path.drop_prob if hasattr(blk.drop_path, 'drop_prob') else 0.
             for stage in model.stages for blk in stage.blocks]
    assert rates[0] == 0 and rates[-1] == pytest.approx(0.3)
    assert rates == pytest.approx(torch.linspace(0, 0.3, 26).tolist())


@pytest.mark.parametrize('arch,official,backbone_m', [('s', 'scalable_vit_small', 25.79),
                                                        ('b', 'scalable_vit_base', 74.63),
                                                        ('l', 'scalable_vit_large', 100.98)])
def test_parameter_counts(arch, official, backbone_m, official_scalable_vit_shapes):
    model = ScalableViT(arch)
    ours = sum(p.numel() for n, p in model.named_parameters() if not n.startswith('norm'))
    theirs = sum(math.prod(s) for k, s in official_scalable_vit_shapes[official].items()
                 if not k.startswith(('head.', 'norm.')))
    assert ours == theirs
    assert round(ours / 1e6, 2) == backbone_m


def _our_key(k):
    """Where an official key lives in ours: their stage layout renamed, their final norm our last output norm."""
    return 'norm3.' + k[5:] if k.startswith('norm.') else scalable_vit_keys_from_v1([k]).get(k, k)


@pytest.mark.parametrize('arch,official', [('s', 'scalable_vit_small'), ('b', 'scalable_vit_base'),
                                           ('l', 'scalable_vit_large')])
def test_official_keys_and_shapes_map_exactly(arch, official, official_scalable_vit_shapes):
    official_shapes = official_scalable_vit_shapes[official]
    converted = convert_scalable_vit({'model': {k: torch.empty(0) for k in official_shapes}})
    ours = {k: tuple(v.shape) for k, v in ScalableViT(arch, out_indices=(3,)).state_dict().items()}
    # Every backbone key of theirs has a home of the same shape in ours, and nothing of ours is left out.
    assert set(converted) == set(ours)
    for k in official_shapes:
        if not k.startswith('head.'):
            assert tuple(official_shapes[k]) == ours[_our_key(k)], k


def test_loads_the_official_checkpoint(official_scalable_vit_shapes, tmp_path):
    g = torch.Generator().manual_seed(1)
    state = {k: torch.randn(s, generator=g) for k, s in official_scalable_vit_shapes['scalable_vit_small'].items()}
    path = tmp_path / 'scalable_vit_small.pth'
    torch.save({'model': state}, path)  # the authors' release: {'model': state_dict}, 4096-wide head included
    model = ScalableViT('s', init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    ours = model.state_dict()
    for k, v in state.items():
        if not k.startswith('head.'):
            torch.testing.assert_close(ours[_our_key(k)], v)


def test_loads_mmdet_layout_and_reports_mismatches(tmp_path, capsys):
    src = ScalableViT(TINY)
    src.init_weights()
    detector_like = {f'backbone.{k}': v for k, v in src.state_dict().items()}
    detector_like['bbox_head.retina_cls.weight'] = torch.zeros(3)
    torch.save({'state_dict': detector_like, 'meta': {}}, tmp_path / 'det.pth')
    dst = ScalableViT(TINY, init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'det.pth')))
    dst.init_weights()
    for k, v in src.state_dict().items():
        torch.testing.assert_close(dst.state_dict()[k], v)

    # A checkpoint of another architecture: one readable error naming what did not fit.
    other = {'conv1.weight': torch.zeros(64, 3, 7, 7), 'fc.weight': torch.zeros(10, 10)}
    torch.save(other, tmp_path / 'resnet.pth')
    bad = ScalableViT(TINY, init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'resnet.pth')))
    with pytest.raises(ValueError, match=r'resnet.pth: only 0/\d+ tensors fit ScalableViT .*unexpected: conv1.weight'):
        bad.init_weights()


def test_unknown_arch_is_a_clear_error():
    with pytest.raises(ValueError, match='unknown ScalableViT arch'):
        ScalableViT('xl')
    with pytest.raises(ValueError, match='needs'):
        ScalableViT(dict(embed_dims=[8]))
