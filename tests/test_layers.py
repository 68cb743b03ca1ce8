"""Shared layers: the in-place fast paths compute exactly what the plain expressions compute, gradients included."""
import torch
import torch.nn as nn

from vdense.models.layers import Mlp, add_residual


def test_add_residual_matches_out_of_place_sum_and_gradients():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 8, requires_grad=True)
    lin = nn.Linear(8, 8)
    out = add_residual(x, lin(x))
    ref = x + lin(x)
    assert torch.equal(out, ref)
    g1 = torch.autograd.grad(out.square().sum(), (x, lin.weight))
    g2 = torch.autograd.grad(ref.square().sum(), (x, lin.weight))
    assert all(torch.allclose(a, b) for a, b in zip(g1, g2))


def test_add_residual_keeps_the_wider_dtype_under_autocast():
    x = torch.randn(4, 8)
    branch = torch.randn(4, 8).bfloat16()
    out = add_residual(x, branch)
    assert out.dtype == torch.float32 and branch.dtype == torch.bfloat16


def test_mlp_inference_path_equals_training_path():
    torch.manual_seed(0)
    mlp = Mlp(16, 64).eval()
    x = torch.randn(3, 7, 16)
    with torch.no_grad():
        fast = mlp(x)
    assert torch.equal(fast, mlp(x))  # grad-enabled call: the out-of-place GELU


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
