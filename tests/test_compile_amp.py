"""Every backbone runs under torch.compile (dynamo capture) and under CPU bf16 autocast, giving the same maps."""
import pytest
import torch

from vdense.models import MViT, ScalableViT, Swin

SMALL = {
    'ScalableViT': lambda: ScalableViT(dict(embed_dims=[32, 64, 128, 256], depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8],
                                            c_ratios=[1.25, 1.25, 1.25, 1], window_sizes=[4, 4, 4, 4]),
                                       drop_path_rate=0.),
    'Swin': lambda: Swin(dict(embed_dims=32, depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8]), window_size=4,
                         drop_path_rate=0.),
    'MViT (Hwin)': lambda: MViT('t', drop_path_rate=0., use_hwin=True, window_size=8),
}


@pytest.mark.parametrize('name', sorted(SMALL))
def test_backbone_compiles_to_one_graph_with_the_eager_outputs(name):
    # Dynamo capture with the eager backend: what torch.compile traces, without the minutes of inductor codegen.
    # The first call sees a size no table has been built for: the backbone builds them before dynamo traces the
    # blocks, so the whole backbone is one graph (no break anywhere, inside a block or between blocks).
    from torch._dynamo.testing import CompileCounterWithBackend
    torch.manual_seed(0)
    model = SMALL[name]().eval()
    x = torch.randn(1, 3, 72 + 8 * sorted(SMALL).index(name), 104)  # odd sizes: the padding paths are traced too
    torch._dynamo.reset()
    counter = CompileCounterWithBackend('eager')
    with torch.no_grad():
        compiled = torch.compile(model, backend=counter)(x)
        ref = model(x)
    assert counter.frame_count == 1, f'{counter.frame_count} graphs: dynamo broke the graph'
    for r, c in zip(ref, compiled):
        torch.testing.assert_close(c, r)


@pytest.mark.parametrize('name', sorted(SMALL))
def test_backbone_runs_under_bf16_autocast(name):
    torch.manual_seed(0)
    model = SMALL[name]().eval()
    x = torch.randn(1, 3, 72, 104)
    with torch.no_grad():
        ref = model(x)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            low = model(x)
    for r, o in zip(ref, low):
        assert torch.isfinite(o).all()
        # bf16 keeps 8 mantissa bits: a few percent of the maps' spread, relative to their scale
        assert (o.float() - r).abs().mean() / r.abs().mean() < 0.05
