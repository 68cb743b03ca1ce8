"""vdense.ScalableViT: parity with the reference semantics, any input size, the backbone contract."""
import math
import os.path as osp

import pytest
import torch

from tests.conftest import ROOT
from tests.helpers import assert_with_cp_same_gradients, probe_loss
from tests.reference.scalable_vit_reference import AUTHORS_VARIANTS, RefScalableViT
from vdense.converters import convert_scalable_vit, scalable_vit_keys_from_v1
from vdense.models.backbones.scalable_vit import IWSA, ScalableViT

TINY = dict(embed_dims=[32, 64, 128, 256], depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8],
            c_ratios=[1.25, 1.25, 1.25, 1])


def _randomize(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, 0.05, generator=g)
        # LayerNorm gains near 1, as trained ones are: gains of ~0.05 would shrink every map (and any mismatch)
        # below the comparison's tolerance.
        for m in module.modules():
            if isinstance(m, torch.nn.LayerNorm):
                m.weight.normal_(1, 0.1, generator=g)


OFFICIAL = {'s': 'scalable_vit_small', 'b': 'scalable_vit_base', 'l': 'scalable_vit_large'}


def _authors_model(arch, seed=0):
    """The reference built from the authors' definition of variant ``arch`` (or from a dict arch), random weights
    (built on meta: the default init of 100M parameters would only be overwritten)."""
    if isinstance(arch, str):
        kwargs = AUTHORS_VARIANTS[OFFICIAL[arch]]
    else:
        kwargs = {k: arch[k] for k in ('embed_dims', 'depths', 'num_heads', 'c_ratios')}
    with torch.device('meta'):
        ref = RefScalableViT(**kwargs)
    ref = ref.to_empty(device='cpu').eval()
    _randomize(ref, seed)
    return ref


def _ref_and_ours(arch):
    ours = ScalableViT(arch, drop_path_rate=0.).eval()
    ref = _authors_model(arch)
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


@pytest.mark.parametrize('arch', ['s', 'b', 'l'])
def test_our_variants_are_the_authors(arch):
    """dims, depths, heads, MLP/sr/channel ratios, windows, qkv bias and LN eps of the authors' S/B/L definitions,
    down to the modules each block builds."""
    theirs = AUTHORS_VARIANTS[OFFICIAL[arch]]
    with torch.device('meta'):
        ours, ref = ScalableViT(arch), RefScalableViT(**theirs)
    cfg = ours.arch_settings
    for key, their_key in (('embed_dims', 'embed_dims'), ('depths', 'depths'), ('num_heads', 'num_heads'),
                           ('mlp_ratios', 'mlp_ratios'), ('sr_ratios', 'sr_ratios'), ('c_ratios', 'c_ratios'),
                           ('window_sizes', 'wss')):
        assert list(cfg[key]) == list(theirs[their_key]), key
    for stage, ref_blocks in zip(ours.stages, ref.stages):
        for block, ref_block in zip(stage.blocks, ref_blocks):
            assert type(block.attn).__name__ == type(ref_block.attn).__name__[3:]  # IWSA / SSA at the same index
            assert block.attn.num_heads == ref_block.attn.heads
            assert getattr(block.attn, 'window_size', None) == getattr(ref_block.attn, 'ws', None)
            assert getattr(block.attn, 'scale', None) == getattr(ref_block.attn, 'scale', None)
            assert block.norm1.eps == block.norm2.eps == 1e-6
    assert all(m.bias is not None for n, m in ours.named_modules() if n.endswith(('.qkv', '.q', '.k', '.v', '.kv')))


def _config(name):
    from mmengine.config import Config
    return Config.fromfile(osp.join(ROOT, 'configs', name))


@pytest.mark.parametrize('arch', ['b', 'l'])
def test_released_b_and_l_give_the_authors_outputs(arch, official_scalable_vit_shapes, tmp_path):
    """The authors' B/L file as released (``{'model': ...}``, their layout, 4096-wide head), read where our configs
    expect it: the detection backbone's Pretrained init gives their four stage maps, the classifier config's
    conversion (tools/test.py's) their logits. 224 is the smallest input their code runs (every stage map a
    multiple of its 7x7 windows)."""
    from mmengine.registry import init_default_scope

    import vdense.models  # noqa: F401  (registers ScalableViTClsHead)
    from vdense.converters.classifier import to_image_classifier
    from vdense.engine import read_checkpoint
    ref = _authors_model(arch)
    # The reference built from their definition holds exactly the keys and shapes of their released file.
    assert {k: list(v.shape) for k, v in ref.state_dict().items()} == official_scalable_vit_shapes[OFFICIAL[arch]]
    path = tmp_path / f'scalablevit_{arch}_in1k.pth'
    torch.save({'model': ref.state_dict()}, path)

    det = _config(f'retinanet_scalablevit_{arch}.py').model.backbone
    assert det.arch == arch and det.init_cfg == dict(type='Pretrained',
                                                     checkpoint=f'pretrained/scalablevit_{arch}_in1k.pth')
    backbone = ScalableViT(arch, drop_path_rate=0.).eval()
    backbone.load_pretrained(str(path))  # init_weights() without the scratch init of 100M weights first

    cls_cfg = _config(f'imagenet_scalablevit_{arch}.py')
    init_default_scope('mmpretrain')
    from mmpretrain.registry import MODELS
    with torch.device('meta'):
        classifier = MODELS.build(cls_cfg.model)
    classifier.load_state_dict(to_image_classifier(read_checkpoint(str(path), mmap=True), cls_cfg.model.backbone),
                               strict=True, assign=True)
    classifier.eval()
    ours = backbone.state_dict()
    for k, v in classifier.backbone.state_dict().items():
        assert torch.equal(v, ours[k]), k

    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        ref_maps, ref_logits = ref(x)
        outs = backbone(x)
        for i, (out, ref_map) in enumerate(zip(outs, ref_maps)):
            normed = getattr(backbone, f'norm{i}')(ref_map.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
            torch.testing.assert_close(out, normed, rtol=1e-5, atol=2e-5)
        # The classifier's backbone is this one (same weights, its last stage): its neck and head on that map.
        logits = classifier.head(classifier.neck((outs[3],)))
    torch.testing.assert_close(logits, ref_logits, rtol=1e-4, atol=1e-4)


def test_unknown_arch_is_a_clear_error():
    with pytest.raises(ValueError, match='unknown ScalableViT arch'):
        ScalableViT('xl')
    with pytest.raises(ValueError, match='needs'):
        ScalableViT(dict(embed_dims=[8]))
