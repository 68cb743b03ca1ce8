"""The backbones on a CUDA device, as users train them: maps and gradients against a float64 CPU run, fp16/bf16
autocast forward+backward, and torch.compile with inductor's GPU kernels.

Needs a GPU: skipped where torch sees no CUDA device (CI has none). On a GPU machine:
``python -m pytest tests/test_cuda.py`` (torch, mmengine and mmcv's Python modules; not the detection stack)."""
import copy

import pytest
import torch

from tests.helpers import probe_loss
from vdense.models import MViT, ScalableViT, Swin

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')

# The published variants as the detection configs build them (MViTv2 with hybrid window attention).
BACKBONES = {
    'ScalableViT-S': lambda: ScalableViT('s', drop_path_rate=0.),
    'Swin-T': lambda: Swin('t', drop_path_rate=0.),
    'MViTv2-T (Hwin)': lambda: MViT('t', drop_path_rate=0., use_hwin=True),
}
ODD_SIZE = (2, 3, 333, 517)  # every stage map needs padding to its windows


@pytest.fixture(autouse=True)
def exact_fp32():
    """TF32 (on by default for cuDNN convolutions) would differ from the CPU by 1e-3: full fp32 for comparisons."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def _relative_error(ours, ref):
    return ((ours.double() - ref.double()).abs().max() / ref.double().abs().max()).item()


def _norm_error(ours, ref):
    return ((ours.double() - ref.double()).norm() / ref.double().norm()).item()


def _backward(model, x, autocast_dtype=None):
    model.zero_grad(set_to_none=True)
    with torch.autocast(x.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
        maps = model(x)
    probe_loss(maps).backward()
    return [m.detach() for m in maps], {n: p.grad.detach() for n, p in model.named_parameters() if p.grad is not None}


def _flat(grads, names):
    return torch.cat([grads[n].double().flatten().cpu() for n in names])


@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_cuda_maps_and_gradients_match_float64(name):
    # Against a float64 CPU run (fp32 on the CPU: 1e-6 off it in the gradient, H100 2026-11-26). On CUDA, fp32
    # SDPA takes the memory-efficient kernel, whose backward is TF32-grade (MViTv2-T: 5e-4 of the gradient's norm;
    # 1e-6 with the math kernel): the bounds allow that and no more. A wrong mask or index is off by O(1).
    torch.manual_seed(0)
    model = BACKBONES[name]().train()
    x = torch.randn(*ODD_SIZE)
    exact_maps, exact_grads = _backward(copy.deepcopy(model).double(), x.double())
    cuda_maps, cuda_grads = _backward(model.cuda(), x.cuda())
    for i, (e, g) in enumerate(zip(exact_maps, cuda_maps)):
        assert g.shape == e.shape
        assert _relative_error(g.cpu(), e) < 1e-4, f'stage {i}'
    assert cuda_grads.keys() == exact_grads.keys()
    error = _norm_error(_flat(cuda_grads, exact_grads), _flat(exact_grads, exact_grads))
    assert error < 2e-3, f'gradient {error:.1e} of its norm off the float64 one'


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16], ids=['fp16', 'bf16'])
@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_autocast_forward_backward_stays_close_to_fp32(name, dtype):
    torch.manual_seed(0)
    model = BACKBONES[name]().cuda().train()
    x = torch.randn(*ODD_SIZE, device='cuda')
    ref_maps, ref_grads = _backward(model, x)
    maps, grads = _backward(model, x, dtype)
    for i, (m, r) in enumerate(zip(maps, ref_maps)):
        assert torch.isfinite(m).all(), f'stage {i}'
        # mean error relative to the maps' scale: bf16 keeps 8 mantissa bits, fp16 11
        assert ((m.float() - r).abs().mean() / r.abs().mean()).item() < 0.05, f'stage {i}'
    assert all(torch.isfinite(g).all() for g in grads.values())
    # The whole gradient, as the optimiser sees it: low precision perturbs it by a few percent of its norm
    # (CPU autocast, 333x517: fp16 3-6 %, bf16 1.5 % for Swin/ScalableViT, 8 % for MViTv2).
    error = _norm_error(_flat(grads, ref_grads), _flat(ref_grads, ref_grads))
    assert error < 0.15, f'gradient {error:.2f} of its norm off the fp32 one under {dtype}'


@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_inductor_compiles_one_graph_with_the_eager_maps(name):
    from torch._dynamo.testing import CompileCounterWithBackend
    torch.manual_seed(0)
    model = BACKBONES[name]().cuda().eval()
    x = torch.randn(*ODD_SIZE, device='cuda')
    torch._dynamo.reset()
    counter = CompileCounterWithBackend('inductor')
    with torch.no_grad():
        ref = model(x)
        compiled = torch.compile(model, backend=counter)(x)
    assert counter.frame_count == 1, f'{counter.frame_count} graphs: dynamo broke the graph'
    for i, (c, r) in enumerate(zip(compiled, ref)):
        assert _relative_error(c, r) < 1e-4, f'stage {i}'
