"""FLOP counting (attention included) and the analysis tools: tools/get_flops.py, tools/benchmark.py."""
import json
import os.path as osp

import torch
import torch.nn.functional as F

from tests.conftest import ROOT
from tests.helpers import run_in_process, run_tool
from vdense.analysis import count_flops


class _Attention(torch.nn.Module):
    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(q, k, v)


def test_attention_matmuls_are_counted():
    q, k, v = torch.randn(2, 3, 10, 8), torch.randn(2, 3, 6, 8), torch.randn(2, 3, 6, 5)
    assert count_flops(_Attention(), (q, k, v)) == 2 * 3 * 10 * 6 * (8 + 5)


def test_scalable_vit_s_flops_match_the_fvcore_count_of_the_authors_model():
    # fvcore counts the released ScalableViT-S classifier (attention included) at 4.29 G at 224.
    # Ours without the 4096-wide head (~6 M multiply-adds): the same within rounding.
    from vdense.models import ScalableViT
    flops = count_flops(ScalableViT('s', out_indices=(3,)).eval(), (torch.randn(1, 3, 224, 224),))
    assert abs(flops / 1e9 - 4.29) < 0.02, flops


def test_get_flops_reports_model_and_backbone(tmp_path, capsys):
    code, out, err = run_in_process(capsys, 'get_flops', osp.join(ROOT, 'configs', 'imagenet_swin_t.py'), '--markdown')
    row = [line for line in out.splitlines() if line.startswith('| imagenet_swin_t.py')]
    assert code == 0 and row, out + err[-3000:]
    cells = [c.strip() for c in row[0].strip('|').split('|')]
    params, gflops = float(cells[2]), float(cells[3])
    assert abs(params - 28.29) < 0.01  # Swin-T classifier: the official 28.3 M
    assert 4.4 < gflops < 4.6  # the official 4.5 G (fvcore count)


def test_benchmark_compares_with_the_references_and_reports_flop_rates_and_memory(tmp_path):
    out = tmp_path / 'bench.json'
    # The eager backend checks the --compile plumbing (graph breaks counted) without minutes of inductor codegen.
    run_tool('benchmark.py', '--backbones', 'swin_t', '--sizes', '64x64x1', '--repeat', '1', '--json', out,
             '--markdown', tmp_path / 'bench.md', '--compile', '--compile-backend', 'eager', '--detectors',
             '--detector-size', '64x1')
    result = json.loads(out.read_text())
    assert result['matmul_flop_rate'] > 0
    forward, train = sorted((r for r in result['rows'] if r['reference'] == 'mmdet SwinTransformer'),
                            key=lambda r: r['mode'])
    assert (forward['mode'], train['mode']) == ('forward', 'train')
    assert forward['max_diff'] < 1e-4 and forward['speedup'] > 0 and train['speedup'] > 0
    assert 0 < forward['fraction_of_matmul'] < 2
    # timm's Swin is another model at 64x64 (its windows shrink to the 4x4 and 2x2 maps of stages 3-4): said
    timm, = [r for r in result['rows'] if r['reference'] == 'timm swin_tiny']
    assert 'shrinks its 7x7 windows' in timm['error']
    # Training holds activations and gradients that inference does not: the tracked peaks must show it.
    for side in ('ref_peak_mib', 'ours_peak_mib'):
        assert 0 < forward[side] < train[side]
    compiled, = result['compiled']
    assert compiled['max_diff'] < 1e-4 and isinstance(compiled['graph_breaks'], int)
    detector, = result['detectors']
    assert detector['ours'] == 'retinanet_scalablevit_s.py' and detector['ours_ms'] > 0 and detector['ref_ms'] > 0
    tables = (tmp_path / 'bench.md').read_text()  # what docs/benchmarks.md is made of: one line per row
    for row in result['rows'] + result['compiled'] + result['detectors']:
        name = row.get('backbone', row.get('task'))
        assert any(line.startswith(f'| {name} | {row["size"]} |') for line in tables.splitlines()), (row, tables)


def test_benchmark_times_under_autocast_and_names_a_missing_gpu(tmp_path, capsys):
    out = tmp_path / 'bench.json'
    run_tool('benchmark.py', '--backbones', 'mvitv2_t', '--sizes', '64x64x1', '--repeat', '1', '--modes', 'forward',
             '--amp', 'bf16', '--json', out)
    result = json.loads(out.read_text())
    assert result['dtype'] == 'bf16' and result['matmul_flop_rate'] > 0
    timed = [r for r in result['rows'] if 'error' not in r]
    assert timed and all(r['ours_ms'] > 0 for r in timed)
    # outputs are still compared in fp32: the same function, not bf16 noise
    assert all(r['max_diff'] < 1e-4 for r in timed if r['max_diff'] is not None)
    if not torch.cuda.is_available():
        code, _, err = run_in_process(capsys, 'benchmark', '--device', 'cuda')
        assert code != 0 and 'sees no CUDA device' in err
