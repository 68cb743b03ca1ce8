"""Shared layers: the in-place fast paths compute exactly what the plain expressions compute, gradients included."""
import pytest
import torch

from tests.helpers import probe_loss
from vdense.models.layers import Mlp


def test_mlp_inference_path_equals_training_path():
    torch.manual_seed(0)
    mlp = Mlp(16, 64).eval()
    x = torch.randn(3, 7, 16)
    with torch.no_grad():
        fast = mlp(x)
    assert torch.equal(fast, mlp(x))  # grad-enabled call: the out-of-place GELU


def test_mlp_in_row_chunks_equals_the_whole_and_only_without_autograd():
    torch.manual_seed(0)
    mlp = Mlp(16, 64).eval()
    mlp.chunk_rows = 4  # 21 rows: chunks of 4, 4, 4, 4, 4, 1
    x = torch.randn(3, 7, 16)
    calls = []
    mlp.fc1.register_forward_hook(lambda *_: calls.append(1))
    with torch.no_grad():
        chunked = mlp(x)
    assert len(calls) == 6
    calls.clear()
    torch.testing.assert_close(chunked, mlp._forward(x), rtol=0, atol=1e-6)
    x.requires_grad_(True)
    mlp(x).sum().backward()  # autograd needs the whole hidden: one pass
    assert len(calls) == 2 and x.grad is not None


def test_swin_window_attention_in_chunks_equals_the_whole(monkeypatch):
    # odd size: padded windows and the shift mask, sliced per chunk alongside the windows
    from vdense.models import Swin
    from vdense.models.backbones.swin import WindowAttention
    torch.manual_seed(0)
    model = Swin(dict(embed_dims=16, depths=[2, 2], num_heads=[1, 2]), window_size=4, out_indices=(0, 1)).eval()
    x = torch.randn(2, 3, 45, 61)
    with torch.no_grad():
        whole = model(x)
        attended = []
        original = WindowAttention._attend
        monkeypatch.setattr(WindowAttention, 'chunk_rows', lambda self, N, C: 5)
        monkeypatch.setattr(WindowAttention, '_attend', lambda self, *a: attended.append(a[0].shape[0])
                            or original(self, *a))
        chunked = model(x)
    assert max(attended) == 5 and len(attended) > 4  # the chunked path ran
    for a, b in zip(chunked, whole):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)


def test_meta_device_models_leave_no_meta_tensors_in_the_caches():
    # Checkpoint identification builds models on the meta device; real models built later must get real tables.
    from vdense.models import MViT, Swin
    from vdense.models.layers import relative_position_index
    relative_position_index.cache_clear()
    with torch.device('meta'):
        Swin('t', window_size=5)
        MViT('t')
    model = Swin('t', window_size=5)
    assert not model.stages[0].blocks[0].attn.relative_position_index.is_meta
    assert torch.isfinite(model(torch.randn(1, 3, 64, 96))[0]).all()


@pytest.mark.parametrize('family', ['Swin', 'ScalableViT', 'MViT'])
def test_a_first_pass_in_inference_mode_leaves_tables_a_training_pass_can_use(family):
    # The tables are cached per size: built under torch.inference_mode() they would be inference tensors, which
    # autograd refuses to save ("Inference tensors cannot be saved for backward") in a later training step.
    import vdense.models
    model = getattr(vdense.models, family)(dict(Swin='t', ScalableViT='s', MViT='t')[family], out_indices=(3,),
                                           drop_path_rate=0., **(dict(use_hwin=True) if family == 'MViT' else {}))
    x = torch.randn(1, 3, 75, 107)  # a size no other test caches
    with torch.inference_mode():
        model.eval()(x)
    probe_loss(model.train()(x)).backward()
    stem_grad = next(model.parameters()).grad  # the stem's: the gradient reached the input end
    assert stem_grad is not None and stem_grad.abs().max() > 0


@pytest.mark.parametrize('d_qk,d_v', [(40, 32), (8, 32), (16, 16)])
def test_attention_with_different_head_widths_equals_the_plain_formula(d_qk, d_v):
    from vdense.models.layers import sdpa_mixed_head_dims
    torch.manual_seed(0)
    q = torch.randn(2, 3, 50, d_qk, dtype=torch.float64)
    k = torch.randn(2, 3, 7, d_qk, dtype=torch.float64)
    v = torch.randn(2, 3, 7, d_v, dtype=torch.float64)
    scale = 0.3
    # The formula in float64 is the exact value; ours runs in float32, as the models do.
    exact = [t.clone().requires_grad_() for t in (q, k, v)]
    ref = ((exact[0] @ exact[1].transpose(-2, -1)) * scale).softmax(-1) @ exact[2]
    ref_grads = torch.autograd.grad(ref.square().sum(), exact)
    ours = [t.float().requires_grad_() for t in (q, k, v)]
    out = sdpa_mixed_head_dims(*ours, scale)
    torch.testing.assert_close(out.double(), ref, rtol=1e-5, atol=1e-5)
    grads = torch.autograd.grad(out.square().sum(), ours)
    for g, r in zip(grads, ref_grads):
        # Gradients reach ~35 here: float32 rounding (the plain formula's too) grows with their magnitude.
        torch.testing.assert_close(g.double(), r, rtol=1e-4, atol=3e-6 * r.abs().max().item())
