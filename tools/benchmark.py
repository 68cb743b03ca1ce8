#!/usr/bin/env python
"""Throughput and memory of vdense backbones against the reference implementations installed, on the same weights.

    python tools/benchmark.py                          # Swin-T vs mmdet and timm, ScalableViT-S, both sizes
    python tools/benchmark.py --backbones swin_t --sizes 224x224x8 --repeat 10 --json out.json
    python tools/benchmark.py --compile                # + torch.compile speed-up and graph breaks of ours
    python tools/benchmark.py --detectors              # + RetinaNet training iterations, ours vs mmdet's Swin-T
    python tools/benchmark.py --device cuda --amp bf16 --sizes 224x224x64,800x1216x2   # on a GPU, under autocast

For every reference, ours is built from the reference's own weights (converted as a user's checkpoint would
be), its outputs are checked against the reference's on the benchmark input, then both are timed in the same
process, in turn within each round (a shared machine's drift weighs on both alike): median of --repeat rounds
after a warm-up, forward (inference mode) and forward+backward (``train``: the stage maps' means summed and
back-propagated, gradients of every weight). Peak memory is that of the tensors a
pass allocates beyond the weights (activations, temporaries, gradients), tracked op by op by torch's MemTracker
on any device, in an untimed pass. Ratios > 1 mean vdense is faster or smaller. The same run measures the
machine's dense fp32 matmul rate and reports each backbone's achieved forward FLOP rate as a fraction of it
(FLOPs from vdense.analysis: fused multiply-adds, attention matmuls included). On a GPU (``--device cuda``)
every timed pass ends with a device synchronisation; ``--amp`` times every pass under ``torch.autocast`` in that
dtype and measures the matmul rate in it, while outputs are still compared in fp32.
"""
from __future__ import annotations  # annotations name torch, imported only after the arguments are parsed

import json
import logging
import os.path as osp
import statistics
import sys
import time
from contextlib import nullcontext
from typing import Callable, Dict, List, Optional, Tuple

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # tools/: cli_args (standard library only)

from cli_args import add_debug_arg, add_repo_to_path, make_parser  # noqa: E402


def _import_stack() -> None:
    """torch, vdense and the references, imported after the arguments are parsed (--help answers at once)."""
    global torch, count_flops, references, convert_mvit, convert_swin, MViT, ScalableViT, Swin
    add_repo_to_path()
    import torch

    import vdense.models  # noqa: F401
    from vdense.analysis import count_flops, references
    from vdense.converters import convert_mvit, convert_swin
    from vdense.models import MViT, ScalableViT, Swin


def _synchronize() -> None:
    """Wait for queued GPU work, so that a pass's time is its kernels' and not only their launches."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def _interleaved_median_ms(fns: List[Callable[[], object]], repeat: int) -> List[float]:
    """Median ms of each of ``fns``, timed in turn within every round, so that the drift of a shared machine
    (neighbours, clock) weighs on every implementation alike and the ratios stay honest."""
    for fn in fns:
        fn()  # warm-up: allocations, caches, lazy init, cuDNN/cuBLAS algorithm choice
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn_times, fn in zip(times, fns):
            _synchronize()
            start = time.perf_counter()
            fn()
            _synchronize()
            fn_times.append((time.perf_counter() - start) * 1e3)
    return [statistics.median(t) for t in times]


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    return _interleaved_median_ms([fn], repeat)[0]


def _peak_mib(fn: Callable[[], object], modules: List[torch.nn.Module]) -> float:
    """Peak MiB of the tensors ``fn`` allocates beyond the modules' weights (activations, temporaries, gradients)."""
    from torch.distributed._tools.mem_tracker import MemTracker, _MemRefType
    fn()  # lazily built caches (index tables, masks) are not the pass's own memory
    tracker = MemTracker()
    tracker.track_external(*modules)
    with tracker:
        fn()
    total = 0
    for device_peak in tracker.get_tracker_snapshot('peak').values():
        total += device_peak['Total'] - device_peak[_MemRefType.PARAM] - device_peak[_MemRefType.BUFFER]
    return total / 2 ** 20


def _autocast(x: torch.Tensor, amp: Optional[torch.dtype]):
    return torch.autocast(x.device.type, dtype=amp) if amp is not None else nullcontext()


def _tracked_peak_mib(fn: Callable[[], object], modules: List[torch.nn.Module]) -> Optional[float]:
    """``_peak_mib``, or None where the tracker cannot follow the pass: under CPU autocast, einsum's decomposition
    inside MemTracker's dispatch mode meets mixed dtypes (torch 2.14), although the pass alone runs."""
    try:
        return _peak_mib(fn, modules)
    except RuntimeError as e:
        print(f'  (peak memory not tracked: {str(e)[:80]})', flush=True)
        return None


def _train_pass(forward: Callable, modules: List[torch.nn.Module], x: torch.Tensor,
                amp: Optional[torch.dtype] = None) -> Callable[[], None]:
    """One forward+backward through the stage maps (their means summed), gradients reset each time."""
    params = [p for m in modules for p in m.parameters() if p.requires_grad]

    def step():
        for p in params:
            p.grad = None
        with _autocast(x, amp):
            loss = sum(f.float().mean() for f in forward(x))
        loss.backward()
    return step


def _pass(forward: Callable, module: torch.nn.Module, x: torch.Tensor, mode: str,
          amp: Optional[torch.dtype] = None) -> Callable[[], object]:
    """One pass of ``forward`` on ``x`` in ``mode`` ('forward': inference; 'train': fwd+bwd), under autocast to
    ``amp`` when given."""
    if mode == 'forward':
        module.eval()

        def fn():
            with torch.inference_mode(), _autocast(x, amp):
                return forward(x)
        return fn
    module.train()  # drop path is 0 and there is no dropout/BN: the same function as in eval
    return _train_pass(forward, [module], x, amp)


def matmul_rate(n: int = 2048, repeat: int = 5, device: str = 'cpu', dtype: torch.dtype | None = None) -> float:
    """The machine's dense matmul rate in multiply-adds per second (the unit FLOP counts use), same threads."""
    dtype = dtype or torch.float32
    if torch.device(device).type == 'cuda':
        n = max(n, 8192)  # a GPU needs a large product to reach its rate
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    return n ** 3 / (_median_ms(lambda: a @ b, repeat) / 1e3)


def _max_diff(a, b) -> float:
    return max((x - y).abs().max().item() for x, y in zip(a, b))


# Each reference: name -> (build(H, W) -> (module, forward returning stage maps), build ours from its weights)
def _mmdet_swin_t(h, w):
    ref = references.mmdet_swin_t()
    ref.init_weights()
    ref.eval()
    ours = Swin('t', drop_path_rate=0., shift_single_window=True).eval()
    ours.load_state_dict(convert_swin({'state_dict': ref.state_dict()}), strict=False)
    ours.load_state_dict({f'norm{i}.{p}': v for i in range(4) for p, v in
                          getattr(ref, f'norm{i}').state_dict().items()}, strict=False)
    return ref, ref, ours


def _timm_swin_t(h, w):
    if h % 32 or w % 32:
        raise ValueError('timm floors odd sizes in its patch embedding where mmdet/vdense pad: compared at '
                         'multiples of 32 only')
    if min(h, w) < 32 * 7:
        raise ValueError('timm shrinks its 7x7 windows to stage maps under 7x7: another model below 224x224')
    ref = references.timm_swin_t(img_size=(h, w), features_only=True, out_indices=(0, 1, 2, 3)).eval()
    ours = Swin('t', drop_path_rate=0.).eval()
    ours.load_state_dict(convert_swin({k.replace('layers_', 'layers.'): v for k, v in ref.state_dict().items()}),
                         strict=False)
    return ref, ref, ours


def _timm_swin_same_function(h, w, window=7):
    """timm rolls (shifts) before padding to the window, the official code and mmdet pad first: the two agree only
    where no stage map needs padding."""
    return all((h // 4 >> i) % window == 0 and (w // 4 >> i) % window == 0 for i in range(4))


NOTES = {'timm swin_tiny': lambda h, w: None if _timm_swin_same_function(h, w) else
         'timm shifts before padding at this size: not the same function, timed only'}


def _mvit_hwin(h, w):
    """Ours as it is used: hybrid window attention at detection sizes, global attention at the ImageNet size."""
    return max(h, w) > 224


def _mmpretrain_mvit_t(h, w):
    ref = references.mmpretrain_mvit('tiny', drop_path_rate=0.)
    for name, p in ref.named_parameters():  # its init_weights() would print every tensor: the rel-pos init by hand
        if 'rel_pos' in name:
            torch.nn.init.trunc_normal_(p, std=.02)
    ref.eval()
    ours = MViT('t', drop_path_rate=0., use_hwin=_mvit_hwin(h, w)).eval()
    ours.load_state_dict(convert_mvit({'state_dict': ref.state_dict()}, ours.depths))
    # With several outputs mmpretrain passes the NORMED map on (another function): its norms go onto copies, as ours.
    norms = [getattr(ref, f'norm{i}') for i in range(4)]
    for i in range(4):
        setattr(ref, f'norm{i}', torch.nn.Identity())
    return ref, lambda x: [n(f.permute(0, 2, 3, 1)).permute(0, 3, 1, 2) for n, f in zip(norms, ref(x))], ours


def _timm_mvit_t(h, w):
    if (h, w) != (224, 224):
        raise ValueError('timm builds its rel-pos tables for one square size and never interpolates them: 224 only')
    ref = references.timm_mvitv2_t().eval()
    ours = MViT('t', drop_path_rate=0.).eval()
    ours.load_state_dict(convert_mvit(ref.state_dict(), ours.depths), strict=False)
    return ref, lambda x: ref.forward_intermediates(x, intermediates_only=True), ours


NOTES['mmpretrain MViT'] = lambda h, w: ('ours with Hwin, the reference global: not the same function, timed only'
                                         if _mvit_hwin(h, w) else None)


def _comparable(ours, ref_feats):
    """Reference maps in our output space: NCHW, through our output norms when the reference has none."""
    out = []
    for i, f in enumerate(ref_feats):
        if f.shape[-1] == ours.num_features[i] and f.shape[1] != ours.num_features[i]:
            f = f.permute(0, 3, 1, 2)  # timm's Swin features are NHWC
        out.append(f)
    return out


BACKBONES: Dict[str, Dict[str, Callable]] = {
    'swin_t': {'mmdet SwinTransformer': _mmdet_swin_t, 'timm swin_tiny': _timm_swin_t},
    'scalablevit_s': {},  # the authors' code is not a package: ours alone
}
OURS_ALONE = {'swin_t': lambda: Swin('t', drop_path_rate=0.),
              'scalablevit_s': lambda: ScalableViT('s', drop_path_rate=0.)}
BACKBONES['mvitv2_t'] = {'mmpretrain MViT': _mmpretrain_mvit_t, 'timm mvitv2_tiny': _timm_mvit_t}
OURS_ALONE['mvitv2_t'] = lambda: MViT('t', drop_path_rate=0.)


AMP_DTYPES = {'bf16': 'bfloat16', 'fp16': 'float16'}  # torch dtypes by name


def parse_size(text: str) -> Tuple[int, int, int]:
    h, w, b = (int(v) for v in text.lower().split('x'))
    return h, w, b


def _row(name, h, w, b, mode, ref_name, **values) -> dict:
    return dict(backbone=name, size=f'{h}x{w}x{b}', mode=mode, reference=ref_name, **values)


def run(backbones: List[str], sizes: List[Tuple[int, int, int]], repeat: int, peak: float = None,
        modes: Tuple[str, ...] = ('forward', 'train'), device: str = 'cpu',
        amp: Optional[torch.dtype] = None) -> List[dict]:
    """``peak``: the matmul rate (multiply-adds/s) that each forward row's achieved FLOP rate is a fraction of."""
    rows = []
    for name in backbones:
        for h, w, b in sizes:
            x = torch.randn(b, 3, h, w)
            # FLOPs of ours as it runs at this size (Hwin on at detection sizes for MViT), attention included.
            ours_flops = count_flops(_ours_as_benchmarked(name, h, w), (x,))
            x = x.to(device)
            first = len(rows)
            refs = BACKBONES[name]
            if not refs:
                ours = OURS_ALONE[name]().to(device)
                for mode in modes:
                    ours_pass = _pass(ours, ours, x, mode, amp)
                    ours_ms, ours_mib = _median_ms(ours_pass, repeat), _tracked_peak_mib(ours_pass, [ours])
                    rows.append(_row(name, h, w, b, mode, '-', ref_ms=None, ours_ms=ours_ms, speedup=None,
                                     max_diff=None, ref_peak_mib=None, ours_peak_mib=ours_mib))
                    print(_format_row(rows[-1]), flush=True)
            for ref_name, build in refs.items():
                try:
                    module, forward, ours = build(h, w)
                except Exception as e:  # a reference that cannot run at this size is reported, not fatal
                    rows.append(_row(name, h, w, b, '-', ref_name, error=f'{type(e).__name__}: {e}'[:120]))
                    print(_format_row(rows[-1]), flush=True)
                    continue
                module.to(device)
                ours.to(device)
                with torch.inference_mode():
                    ref_out = _comparable(ours, forward(x))
                    if ref_name.startswith('timm'):  # un-normed features: compare through our output norms
                        ref_out = [getattr(ours, f'norm{i}')(f.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
                                   for i, f in enumerate(ref_out)]
                    diff = _max_diff(ref_out, ours(x))
                note = NOTES.get(ref_name, lambda h, w: None)(h, w)
                for mode in modes:
                    ref_pass, ours_pass = _pass(forward, module, x, mode, amp), _pass(ours, ours, x, mode, amp)
                    try:
                        ref_pass()
                    except Exception as e:  # e.g. mmpretrain's MViT under CPU autocast (einsum of mixed dtypes)
                        rows.append(_row(name, h, w, b, mode, ref_name,
                                         error=f'{mode} failed: {type(e).__name__}: {e}'[:120]))
                        print(_format_row(rows[-1]), flush=True)
                        continue
                    ref_ms, ours_ms = _interleaved_median_ms([ref_pass, ours_pass], repeat)
                    ref_mib, ours_mib = _tracked_peak_mib(ref_pass, [module]), _tracked_peak_mib(ours_pass, [ours])
                    rows.append(_row(name, h, w, b, mode, ref_name, ref_ms=ref_ms, ours_ms=ours_ms,
                                     speedup=ref_ms / ours_ms, max_diff=diff, note=note, ref_peak_mib=ref_mib,
                                     ours_peak_mib=ours_mib))
                    print(_format_row(rows[-1]), flush=True)
            for r in rows[first:]:
                if r.get('ours_ms') and r['mode'] == 'forward':
                    r['ours_gflops'] = ours_flops / 1e9
                    r['ours_flop_rate'] = ours_flops / (r['ours_ms'] / 1e3)
                    r['fraction_of_matmul'] = r['ours_flop_rate'] / peak if peak else None
    return rows


def compiled_speedup(backbones: List[str], sizes: List[Tuple[int, int, int]], repeat: int,
                     backend: str = 'inductor', device: str = 'cpu', amp: Optional[torch.dtype] = None) -> List[dict]:
    """Ours eager vs ``torch.compile`` (inductor unless ``backend`` says otherwise), forward in inference mode,
    with the number of graph breaks dynamo reports and the largest output difference."""
    import torch._dynamo
    rows = []
    for name in backbones:
        for h, w, b in sizes:
            x = torch.randn(b, 3, h, w, device=device)
            ours = _ours_as_benchmarked(name, h, w).to(device)
            torch._dynamo.reset()
            with torch.inference_mode(), _autocast(x, amp):
                explained = torch._dynamo.explain(ours)(x)
                torch._dynamo.reset()
                compiled = torch.compile(ours, backend=backend)
                start = time.perf_counter()
                compiled_out = compiled(x)
                compile_s = time.perf_counter() - start
                diff = _max_diff(compiled_out, ours(x))
                eager_ms, compiled_ms = _interleaved_median_ms([lambda: ours(x), lambda: compiled(x)], repeat)
            rows.append(dict(backbone=name, size=f'{h}x{w}x{b}', eager_ms=eager_ms, compiled_ms=compiled_ms,
                             speedup=eager_ms / compiled_ms, compile_s=compile_s, max_diff=diff,
                             graph_breaks=explained.graph_break_count,
                             break_reasons=sorted({str(r.reason).split('\n')[0][:100]
                                                   for r in explained.break_reasons})))
            print(f"{name:<14} {rows[-1]['size']:<13} {eager_ms:9.1f} {compiled_ms:11.1f} "
                  f"{eager_ms / compiled_ms:7.2f}x "
                  f"{compile_s:9.0f} {explained.graph_break_count:7d}  {diff:.1e}", flush=True)
    return rows


# Training iterations of whole detectors: ours from our config, the reference from mmdet's own config.
DETECTORS = {
    'retinanet': ('retinanet_scalablevit_s.py', 'mmdet::swin/retinanet_swin-t-p4-w7_fpn_1x_coco.py'),
}


def detector_iterations(size: int, batch: int, repeat: int, device: str = 'cpu') -> List[dict]:
    """Median ms of ``model.train_step`` (data preprocessing, forward, loss, backward, AdamW step) at size x size,
    for our detector config and the reference config, both on the same synthetic batch."""
    from mmengine.config import Config
    from mmengine.hub import get_config
    from mmengine.logging import MMLogger
    from mmengine.optim import build_optim_wrapper

    from vdense.engine.build import build_model_from_config, synthetic_batch
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    MMLogger.get_current_instance().setLevel(logging.WARNING)  # no per-tensor init report: only the table
    rows = []
    for task, (ours_cfg, ref_cfg) in DETECTORS.items():
        steps, names = [], []
        for path in (osp.join(root, 'configs', ours_cfg), ref_cfg):
            cfg = get_config(path) if '::' in path else Config.fromfile(path)
            torch.manual_seed(0)
            model = build_model_from_config(cfg).to(device).train()
            optim = build_optim_wrapper(model, cfg.optim_wrapper)
            torch.manual_seed(1)
            data = synthetic_batch(cfg, size=size, batch_size=batch)
            steps.append(lambda model=model, data=data, optim=optim: model.train_step(data, optim))
            names.append(osp.basename(path))
        ours_ms, ref_ms = _interleaved_median_ms(steps, repeat)
        times = dict(ours=ours_ms, ref=ref_ms, ours_name=names[0], ref_name=names[1])
        rows.append(dict(task=task, size=f'{size}x{size}x{batch}', ours=times['ours_name'], reference=times['ref_name'],
                         ours_ms=times['ours'], ref_ms=times['ref'], speedup=times['ref'] / times['ours']))
        print(f"{task:<10} {rows[-1]['size']:<11} {times['ours_name']:<28} {times['ours']:9.0f} "
              f"{times['ref_name']:<40} {times['ref']:9.0f} {rows[-1]['speedup']:7.2f}x", flush=True)
    return rows


def _ours_as_benchmarked(name: str, h: int, w: int) -> torch.nn.Module:
    if name == 'mvitv2_t':
        return MViT('t', drop_path_rate=0., use_hwin=_mvit_hwin(h, w)).eval()
    return OURS_ALONE[name]().eval()


def _format_row(r: dict) -> str:
    if 'error' in r:
        return f"{r['backbone']:<14} {r['size']:<13} {'':<8}{r['reference']:<24} error: {r['error']}"

    def num(v, fmt, width):
        return format(v, fmt) if v is not None else f"{'-':>{width}}"
    diff = f"{r['max_diff']:.1e}" if r['max_diff'] is not None else '-'
    note = f"  ({r['note']})" if r.get('note') else ''
    return (f"{r['backbone']:<14} {r['size']:<13} {r['mode']:<8}{r['reference']:<24} {num(r['ref_ms'], '9.1f', 9)} "
            f"{r['ours_ms']:9.1f} {num(r['speedup'], '7.2f', 7)}x {num(r['ref_peak_mib'], '9.0f', 9)} "
            f"{num(r['ours_peak_mib'], '9.0f', 9)}  {diff}{note}")


def markdown(result: dict) -> str:
    """Every table of a run (``main``'s result) as Markdown, for docs/benchmarks.md."""
    def ms(v):
        return f'{v:.0f}' if v is not None else '-'

    def mib(v):
        return f'{v:.0f}' if v is not None else '-'
    where = result.get('device', f"{result['threads']} threads")
    lines = [f"Matmul rate ({result.get('dtype', 'fp32')}, {where}): {result['matmul_flop_rate'] / 1e9:.1f} GFLOP/s "
             '(multiply-adds)', '',
             '| backbone | input (HxWxbatch) | pass | reference | reference ms | vdense ms | speed-up | '
             'reference peak MiB | vdense peak MiB | max abs diff |', '|' + '---|' * 10]
    for r in result['rows']:
        if 'error' in r:
            lines.append(f"| {r['backbone']} | {r['size']} | - | {r['reference']} | error: {r['error']} | | | | | |")
            continue
        diff = f"{r['max_diff']:.1e}" if r['max_diff'] is not None else '-'
        if r.get('note'):
            diff += f" ({r['note']})"
        speedup = f"{r['speedup']:.2f}x" if r['speedup'] is not None else '-'
        lines.append(f"| {r['backbone']} | {r['size']} | {r['mode']} | {r['reference']} | {ms(r['ref_ms'])} | "
                     f"{ms(r['ours_ms'])} | {speedup} | {mib(r['ref_peak_mib'])} | {mib(r['ours_peak_mib'])} | "
                     f"{diff} |")
    lines += ['', '| backbone | input | GFLOPs (attention included) | vdense ms | GFLOP/s '
              '| fraction of the matmul rate |',
              '|' + '---|' * 6]
    seen = set()
    for r in result['rows']:
        if r.get('ours_gflops') is not None and (r['backbone'], r['size']) not in seen:
            seen.add((r['backbone'], r['size']))
            lines.append(f"| {r['backbone']} | {r['size']} | {r['ours_gflops']:.2f} | {r['ours_ms']:.0f} | "
                         f"{r['ours_flop_rate'] / 1e9:.1f} | {r['fraction_of_matmul']:.0%} |")
    if result.get('compiled'):
        lines += ['', '| backbone | input | eager ms | compiled ms | speed-up | compile s | graph breaks '
                  '| max abs diff |',
                  '|' + '---|' * 8]
        for r in result['compiled']:
            lines.append(f"| {r['backbone']} | {r['size']} | {r['eager_ms']:.0f} | {r['compiled_ms']:.0f} | "
                         f"{r['speedup']:.2f}x | {r['compile_s']:.0f} | {r['graph_breaks']} | {r['max_diff']:.1e} |")
    if result.get('detectors'):
        lines += ['', '| detector | input (SIZExbatch) | vdense config | ms/iter | reference config | ms/iter '
                  '| speed-up |',
                  '|' + '---|' * 7]
        for r in result['detectors']:
            lines.append(f"| {r['task']} | {r['size']} | `{r['ours']}` | {r['ours_ms']:.0f} | `{r['reference']}` | "
                         f"{r['ref_ms']:.0f} | {r['speedup']:.2f}x |")
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = make_parser(__doc__)
    parser.add_argument('--backbones', default='swin_t,scalablevit_s', help=f'comma-separated: {sorted(BACKBONES)}')
    parser.add_argument('--sizes', default='224x224x8,800x1216x1', help='HxWxBATCH, comma-separated')
    parser.add_argument('--modes', default='forward,train', help="'forward' (inference) and/or 'train' (fwd+bwd)")
    parser.add_argument('--repeat', type=int, default=5, help='timed rounds after a warm-up; the median is reported')
    parser.add_argument('--threads', type=int, default=None, help='torch threads (default: all cores)')
    parser.add_argument('--device', default='cpu', help="where to run: 'cpu' or 'cuda' ('cuda:1', ...)")
    parser.add_argument('--amp', choices=sorted(AMP_DTYPES),
                        help='time every pass under torch.autocast in this dtype (outputs still compared in fp32)')
    parser.add_argument('--compile', action='store_true',
                        help='also time ours under torch.compile (inductor; compiling takes minutes on a CPU)')
    parser.add_argument('--compile-backend', default='inductor', help="torch.compile backend for --compile")
    parser.add_argument('--detectors', action='store_true',
                        help='also time RetinaNet training iterations: ours (ScalableViT-S) vs mmdet\'s Swin-T')
    parser.add_argument('--detector-size', default='512x2', help='SIZExBATCH for --detectors')
    parser.add_argument('--json', help='also write every table to this file')
    parser.add_argument('--markdown', help='also write every table as Markdown (for docs/benchmarks.md)')
    add_debug_arg(parser)
    args = parser.parse_args(argv)  # before torch is imported: --help and a wrong flag answer at once
    _import_stack()
    from vdense.engine.cli import run_tool
    run_tool(benchmark, args)


def benchmark(args) -> None:
    from vdense.engine.cli import ConfigError
    if args.threads:
        torch.set_num_threads(args.threads)
    names = [n.strip() for n in args.backbones.split(',') if n.strip()]
    unknown = set(names) - set(BACKBONES)
    if unknown:
        raise ConfigError(f'--backbones: unknown backbones {sorted(unknown)}: choose from {sorted(BACKBONES)}')
    modes = tuple(m.strip() for m in args.modes.split(',') if m.strip())
    if set(modes) - {'forward', 'train'}:
        unknown = sorted(set(modes) - {'forward', 'train'})
        raise ConfigError(f'--modes: unknown modes {unknown}: choose from forward, train')
    sizes = [parse_size(s) for s in args.sizes.split(',')]
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise ConfigError(f'--device {args.device}: torch {torch.__version__} sees no CUDA device here')
    amp = getattr(torch, AMP_DTYPES[args.amp]) if args.amp else None
    dtype_name = args.amp or 'fp32'
    peak = matmul_rate(device=args.device, dtype=amp or torch.float32)
    where = torch.cuda.get_device_name(device) if device.type == 'cuda' else f'{torch.get_num_threads()} threads'
    print(f'torch {torch.__version__}, {where}, median of {args.repeat} (ms, {dtype_name}); '
          f'dense {dtype_name} matmul: {peak / 1e9:.1f} GFLOP/s (multiply-adds, as the FLOP counts)')
    print(f"{'backbone':<14} {'size':<13} {'mode':<8}{'reference':<24} {'ref ms':>9} {'ours ms':>9} {'speedup':>8} "
          f"{'ref MiB':>9} {'ours MiB':>9}  max|diff|")
    rows = run(names, sizes, args.repeat, peak, modes, args.device, amp)
    print(f"\n{'backbone':<14} {'size':<13} {'GFLOPs':>8} {'ours ms':>9} {'GFLOP/s':>9} {'of matmul':>10}  (forward)")
    seen = set()
    for r in rows:
        if r.get('ours_gflops') is not None and (r['backbone'], r['size']) not in seen:
            seen.add((r['backbone'], r['size']))
            print(f"{r['backbone']:<14} {r['size']:<13} {r['ours_gflops']:8.2f} {r['ours_ms']:9.1f} "
                  f"{r['ours_flop_rate'] / 1e9:9.1f} {r['fraction_of_matmul']:9.0%}")
    result = dict(matmul_flop_rate=peak, threads=torch.get_num_threads(), device=where, dtype=dtype_name, rows=rows)
    if args.compile:
        print(f"\n{'backbone':<14} {'size':<13} {'eager ms':>9} {'compiled ms':>11} {'speedup':>8} {'compile s':>9} "
              f"{'breaks':>7}  max|diff|  (ours, forward, torch.compile)")
        result['compiled'] = compiled_speedup(names, sizes, args.repeat, args.compile_backend, args.device, amp)
    if args.detectors:
        size, batch = (int(v) for v in args.detector_size.lower().split('x'))
        print(f"\n{'detector':<10} {'size':<11} {'ours':<28} {'ms/iter':>9} {'reference':<40} {'ms/iter':>9} "
              f"{'speedup':>8}  (train_step: forward, loss, backward, AdamW)")
        result['detectors'] = detector_iterations(size, batch, args.repeat, args.device)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write(markdown(result))


if __name__ == '__main__':
    main()
