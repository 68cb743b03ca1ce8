"""vdense.MViT: the same function as timm's and mmpretrain's MViTv2 on the same weights (windows off), as detectron2's
hybrid window attention (Hwin on); every checkpoint layout loads through init_cfg."""
import re

import pytest
import torch
import torch.nn.functional as F

from tests.helpers import assert_with_cp_same_gradients, perturb
from vdense.analysis import references
from vdense.converters import convert_mvit, detect_mvit_layout
from vdense.models import MViT

# Four stages, one or two blocks each, heads > 1 from stage 2 on: every code path at a fraction of T's cost.
SMALL = dict(embed_dims=32, depths=[1, 2, 2, 1], num_heads=1)


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    # Small maps: OpenMP start-up and barriers dominate, and on the shared 2-core machine each barrier waits for the
    # other job (measured: this file 18 s on one thread, 87 s on two).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _max_diffs(a, b):
    assert [t.shape for t in a] == [t.shape for t in b]
    return [(x - y).abs().max().item() for x, y in zip(a, b)]


def _load(model, state, tmp_path, name):
    path = tmp_path / name
    torch.save(state, path)
    model.init_cfg = dict(type='Pretrained', checkpoint=str(path))
    model.init_weights()
    return model.eval()


@pytest.fixture(scope='module')
def timm_tiny():
    return perturb(references.timm_mvitv2_t())


@pytest.fixture(scope='module')
def mmpretrain_tiny():
    return perturb(references.mmpretrain_mvit('tiny'), seed=1)


def _mmpretrain_outputs(ref, x):
    """mmpretrain's outputs with its norms applied to copies: as shipped, it passes the NORMED map on to the next
    stage when several scales are output (another function, and not the released classifier's, which norms only
    the last stage)."""
    norms = [getattr(ref, f'norm{i}') for i in ref.out_scales]
    try:
        for i in ref.out_scales:
            setattr(ref, f'norm{i}', torch.nn.Identity())
        with torch.no_grad():
            feats = ref(x)
    finally:
        for i, n in zip(ref.out_scales, norms):
            setattr(ref, f'norm{i}', n)
    with torch.no_grad():
        return [n(f.permute(0, 2, 3, 1)).permute(0, 3, 1, 2) for n, f in zip(norms, feats)]


def test_parity_with_timm_224(timm_tiny, tmp_path):
    ours = _load(MViT('t', drop_path_rate=0.), timm_tiny.state_dict(), tmp_path, 'timm.pth')
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        feats = timm_tiny.forward_intermediates(x, intermediates_only=True)
        outs = ours(x)
        normed = [getattr(ours, f'norm{i}')(f.permute(0, 2, 3, 1)).permute(0, 3, 1, 2) for i, f in enumerate(feats)]
        assert max(_max_diffs(normed, outs)) < 1e-4
        # timm's classifier path (final norm, mean over tokens) equals our last output pooled.
        pooled = timm_tiny.forward_head(timm_tiny.forward_features(x), pre_logits=True)
        assert (pooled - outs[3].mean((2, 3))).abs().max() < 1e-4


@pytest.mark.parametrize('hw', [(224, 224), (320, 480)])
def test_parity_with_mmpretrain(mmpretrain_tiny, tmp_path, hw):
    # As it sits in an mmpretrain classifier / mmdet detector checkpoint: 'backbone.' prefix under 'state_dict'.
    ckpt = {'state_dict': {f'backbone.{k}': v for k, v in mmpretrain_tiny.state_dict().items()}}
    ours = _load(MViT('t', drop_path_rate=0.), ckpt, tmp_path, 'mm.pth')
    x = torch.randn(1, 3, *hw)
    with torch.no_grad():
        outs = ours(x)
    # At 320x480 the relative-position tables are interpolated (224-sized tables, larger maps), as mmpretrain does.
    assert max(_max_diffs(_mmpretrain_outputs(mmpretrain_tiny, x), outs)) < 1e-4


def test_official_layout(timm_tiny, tmp_path):
    # The released MViTv2_T_in1k.pyth layout: 'model_state', flat blocks.N, skip projection 'proj', 'head.projection'
    # (timm's checkpoint_filter_fn read backwards).
    depths = [1, 2, 5, 2]
    first = [sum(depths[:i]) for i in range(4)]
    official = {}
    for k, v in timm_tiny.state_dict().items():
        k = re.sub(r'stages\.(\d+)\.blocks\.(\d+)\.',
                   lambda m: f'blocks.{first[int(m.group(1))] + int(m.group(2))}.', k)
        official[k.replace('shortcut_proj_attn', 'proj').replace('head.fc', 'head.projection')] = v
    assert detect_mvit_layout(official) == 'official'
    assert detect_mvit_layout(timm_tiny.state_dict()) == 'timm'
    ours = _load(MViT('t'), {'model_state': official, 'epoch': 300}, tmp_path, 'MViTv2_T_in1k.pyth')
    expected = convert_mvit(timm_tiny.state_dict(), depths)
    assert not [k for k in expected if k not in ours.state_dict()]
    for k, v in expected.items():
        torch.testing.assert_close(ours.state_dict()[k], v, msg=k)
    # ... and what we export loads back as the 'vdense' layout.
    assert detect_mvit_layout(ours.state_dict()) == 'vdense'


@pytest.mark.parametrize('hw', [(224, 224), (333, 517)])
def test_channel_growth_in_mlp_matches_mmpretrain(tmp_path, hw):
    # The IN-1K L checkpoint grows channels in the MLP of each stage's last block (dim_mul_in_att=False).
    arch = dict(embed_dims=32, num_layers=6, num_heads=1, downscale_indices=[1, 3, 5])
    ref = perturb(references.mmpretrain_mvit(arch, dim_mul_in_attention=False))
    ckpt = {'state_dict': {f'backbone.{k}': v for k, v in ref.state_dict().items()}}
    ours = _load(MViT(dict(embed_dims=32, num_layers=6, num_heads=1, downscale_indices=[1, 3, 5]),
                      dim_mul_in_att=False, drop_path_rate=0.), ckpt, tmp_path, 'mlp.pth')
    assert ours.num_features == [64, 128, 256, 256]
    x = torch.randn(1, 3, *hw)
    with torch.no_grad():
        assert max(_max_diffs(_mmpretrain_outputs(ref, x), ours(x))) < 1e-4


def _detectron2_attention(attn, x):
    """detectron2's MultiScaleAttention.forward (windowed), written out plainly with the module's weights:
    heads folded into the batch, zero padding of the pooled maps to whole windows, explicit softmax."""
    from mmpretrain.models.backbones.mvit import add_decomposed_rel_pos
    B, H, W, _ = x.shape
    nh = attn.num_heads
    qkv = attn.qkv(x).reshape(B, H, W, 3, nh, -1).permute(3, 0, 4, 1, 2, 5)
    q, k, v = qkv.reshape(3, B * nh, H, W, -1).unbind(0)

    def pool(t, conv, norm):
        return norm(conv(t.permute(0, 3, 1, 2)).permute(0, 2, 3, 1))

    def partition(t, ws):
        b, h, w, c = t.shape
        t = F.pad(t, (0, 0, 0, -w % ws, 0, -h % ws))
        hp, wp = t.shape[1:3]
        return t.view(b, hp // ws, ws, wp // ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws, c), (hp, wp)

    q, k, v = pool(q, attn.pool_q, attn.norm_q), pool(k, attn.pool_k, attn.norm_k), pool(v, attn.pool_v, attn.norm_v)
    ori_q = q
    wq, wk = attn.window
    (q, (hp, wp)), (k, _), (v, _) = partition(q, wq), partition(k, wk), partition(v, wk)
    logits = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)
    logits = add_decomposed_rel_pos(logits[:, None], q[:, None], (wq, wq), (wk, wk), attn.rel_pos_h,
                                    attn.rel_pos_w)[:, 0]
    out = logits.softmax(-1) @ v
    c = out.shape[-1]
    out = out.view(-1, hp // wq, wp // wq, wq, wq, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, hp, wp, c)
    out = out[:, :ori_q.shape[1], :ori_q.shape[2]] + ori_q
    out = out.view(B, nh, *out.shape[1:]).permute(0, 2, 3, 1, 4).reshape(B, out.shape[1], out.shape[2], -1)
    return attn.proj(out)



def _blocks(model):
    """The blocks of all stages, in order."""
    return [b for stage in model.stages for b in stage.blocks]


@pytest.mark.parametrize('block_index,hw', [(0, (61, 83)), (1, (45, 29)), (3, (22, 17))])
def test_hwin_attention_matches_detectron2(block_index, hw):
    torch.manual_seed(0)
    # Windows of 8 tokens at stage 1 (4 / 2 / 1 later): odd maps need padding at every stage.
    model = perturb(MViT(dict(embed_dims=32, depths=[1, 2, 2, 1], num_heads=[1, 2, 4, 8]), use_hwin=True,
                          window_size=8, adaptive_kv_stride=2))
    block = _blocks(model)[block_index]
    attn = block.attn
    assert attn.window is not None
    x = torch.randn(2, *hw, block.norm1.normalized_shape[0])
    with torch.no_grad():
        torch.testing.assert_close(attn(x), _detectron2_attention(attn, x), atol=1e-5, rtol=1e-5)


def test_hwin_layout_follows_detectron2():
    model = MViT('t', use_hwin=True)
    windows = [b.attn.window for b in _blocks(model)]
    kv_strides = [b.attn.pool_k.stride[0] for b in _blocks(model)]
    # T: blocks 0 | 1 2 | 3 4 5 6 7 | 8 9; the last block of stages 2-4 is global, and those of stages 2-3
    # pool K/V with twice the stride.
    assert windows == [(56, 14), (28, 28), None, (14, 28), (14, 14), (14, 14), (14, 14), None, (7, 14), None]
    assert kv_strides == [4, 2, 4, 1, 1, 1, 1, 2, 1, 1]
    # Same parameters as without Hwin: ImageNet checkpoints load unchanged.
    plain = MViT('t')
    assert {k: v.shape for k, v in plain.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}


def test_hwin_at_224_equals_global_attention_with_the_same_strides():
    # At 224 the windows (56/28/14/7) cover each stage's map exactly: windowed blocks are global ones.
    hwin = perturb(MViT('t', use_hwin=True, drop_path_rate=0.))
    plain = MViT('t', drop_path_rate=0.)
    plain.load_state_dict(hwin.state_dict())
    for a, b in zip(_blocks(hwin), _blocks(plain)):
        b.attn.pool_k.stride = b.attn.pool_v.stride = a.attn.pool_k.stride
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert max(_max_diffs(hwin(x), plain.eval()(x))) < 1e-4


@pytest.mark.parametrize('use_hwin', [False, True])
@pytest.mark.parametrize('hw', [(333, 517), (31, 45), (64, 64)])
def test_any_input_size(hw, use_hwin):
    model = MViT(SMALL, use_hwin=use_hwin, window_size=16).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, *hw))
    h, w = -(-hw[0] // 4), -(-hw[1] // 4)
    for i, out in enumerate(outs):
        assert out.shape[1:] == (32 * 2 ** i, h, w)
        h, w = -(-h // 2), -(-w // 2)


def test_hwin_tiny_runs_at_odd_detection_size():
    model = MViT('t', use_hwin=True).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 333, 517))
    assert [tuple(o.shape) for o in outs] == [(1, 96, 84, 130), (1, 192, 42, 65), (1, 384, 21, 33), (1, 768, 11, 17)]


def test_out_indices_and_arch_options():
    model = MViT(SMALL, out_indices=(1, 3)).eval()
    assert not hasattr(model, 'norm0') and hasattr(model, 'norm3')
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 96))
    assert [o.shape[1] for o in outs] == [64, 256]
    assert MViT('tiny').depths == MViT('T').depths == [1, 2, 5, 2]
    with pytest.raises(ValueError):
        MViT('huge')
    with pytest.raises(ValueError):
        MViT(SMALL, out_indices=(4,))


def test_frozen_stages_and_with_cp():
    torch.manual_seed(0)
    model = MViT(SMALL, frozen_stages=1, drop_path_rate=0.)
    model.init_weights()
    model.train()
    assert not model.patch_embed.training and not model.stages[0].blocks[0].training and not model.norm0.training
    assert model.stages[1].blocks[0].training
    assert_with_cp_same_gradients(model, MViT(SMALL, frozen_stages=1, drop_path_rate=0., with_cp=True))
    assert all(p.grad is None for p in model.stages[0].blocks[0].parameters())
    assert all(p.grad is None for p in model.patch_embed.parameters())
    assert all(p.grad is not None for p in model.stages[1].blocks[0].parameters())


def test_rel_pos_tables_resized_for_another_img_size(tmp_path):
    src = MViT(SMALL)
    src.init_weights()
    big = _load(MViT(SMALL, img_size=320), {'state_dict': src.state_dict()}, tmp_path, 'small.pth')
    assert big.stages[0].blocks[0].attn.rel_pos_h.shape[0] == 2 * 80 - 1
    assert src.stages[0].blocks[0].attn.rel_pos_h.shape[0] == 111
    for k, v in src.state_dict().items():
        if 'rel_pos' not in k:
            torch.testing.assert_close(big.state_dict()[k], v)


@pytest.mark.parametrize('arch,params', [('t', 23.41), ('s', 34.10), ('b', 50.71), ('l', 216.84)])
def test_parameter_counts(arch, params):
    # Backbone with four output norms (docs/backbones.md; mmpretrain's MViT with out_scales 0-3 has the same count).
    # L is the released IN-1K one (channels grow in the MLP): 217.99 M as a classifier, less the head and 3 norms.
    with torch.device('meta'):
        model = MViT(arch)
    assert round(sum(p.numel() for p in model.parameters()) / 1e6, 2) == params
