#!/usr/bin/env python
"""Forward throughput of vdense backbones against the reference implementations installed, on the same weights.

    python tools/benchmark.py                          # Swin-T vs mmdet and timm, ScalableViT-S, both sizes
    python tools/benchmark.py --backbones swin_t --sizes 224x224x8 --repeat 10 --json out.json

For every reference, ours is built from the reference's own weights (converted as a user's checkpoint would
be), its outputs are checked against the reference's on the benchmark input, then both are timed in the same
process: median of --repeat runs after a warm-up. Ratios > 1 mean vdense is faster. The same run measures the
machine's dense fp32 matmul rate and reports each backbone's achieved FLOP rate as a fraction of it (FLOPs from
vdense.analysis: fused multiply-adds, attention matmuls included).
"""
import argparse
import json
import os.path as osp
import statistics
import sys
import time
from typing import Callable, Dict, List, Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402

import vdense.models  # noqa: E402,F401
from vdense.analysis import count_flops  # noqa: E402
from vdense.converters import convert_mvit, convert_swin  # noqa: E402
from vdense.models import MViT, ScalableViT, Swin  # noqa: E402


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up: allocations, caches, lazy init
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def matmul_rate(n: int = 2048, repeat: int = 5) -> float:
    """The machine's dense fp32 matmul rate in multiply-adds per second (the unit FLOP counts use), same threads."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    return n ** 3 / (_median_ms(lambda: a @ b, repeat) / 1e3)


def _max_diff(a, b) -> float:
    return max((x - y).abs().max().item() for x, y in zip(a, b))


# Each reference: name -> (build(H, W) -> (module, forward returning stage maps), build ours from its weights)
def _mmdet_swin_t(h, w):
    from mmdet.models.backbones import SwinTransformer
    ref = SwinTransformer(embed_dims=96, depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24], window_size=7,
                          drop_path_rate=0., out_indices=(0, 1, 2, 3))
    ref.init_weights()
    ref.eval()
    ours = Swin('t', drop_path_rate=0., shift_single_window=True).eval()
    ours.load_state_dict(convert_swin({'state_dict': ref.state_dict()}), strict=False)
    ours.load_state_dict({f'norm{i}.{p}': v for i in range(4) for p, v in
                          getattr(ref, f'norm{i}').state_dict().items()}, strict=False)
    return ref, ref, ours


def _timm_swin_t(h, w):
    import timm
    if h % 32 or w % 32:
        raise ValueError('timm floors odd sizes in its patch embedding where mmdet/vdense pad: compared at '
                         'multiples of 32 only')
    ref = timm.create_model('swin_tiny_patch4_window7_224', pretrained=False, img_size=(h, w), features_only=True,
                            out_indices=(0, 1, 2, 3)).eval()
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
    from mmpretrain.models.backbones import MViT as MMPretrainMViT
    ref = MMPretrainMViT(arch='tiny', out_scales=[0, 1, 2, 3], drop_path_rate=0.)
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
    import timm
    if (h, w) != (224, 224):
        raise ValueError('timm builds its rel-pos tables for one square size and never interpolates them: 224 only')
    ref = timm.create_model('mvitv2_tiny', pretrained=False).eval()
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
    'scalablevit_s': {},  # the authors' code is not a package: ours alone (README: their 428 ms at 224x8 here)
}
OURS_ALONE = {'swin_t': lambda: Swin('t', drop_path_rate=0.), 'scalablevit_s': lambda: ScalableViT('s', drop_path_rate=0.)}
BACKBONES['mvitv2_t'] = {'mmpretrain MViT': _mmpretrain_mvit_t, 'timm mvitv2_tiny': _timm_mvit_t}
OURS_ALONE['mvitv2_t'] = lambda: MViT('t', drop_path_rate=0.)


def parse_size(text: str) -> Tuple[int, int, int]:
    h, w, b = (int(v) for v in text.lower().split('x'))
    return h, w, b


def run(backbones: List[str], sizes: List[Tuple[int, int, int]], repeat: int, peak: float = None) -> List[dict]:
    """``peak``: the matmul rate (multiply-adds/s) that each row's achieved FLOP rate is a fraction of."""
    rows = []
    for name in backbones:
        for h, w, b in sizes:
            x = torch.randn(b, 3, h, w)
            # FLOPs of ours as it runs at this size (Hwin on at detection sizes for MViT), attention included.
            ours_flops = count_flops(_ours_as_benchmarked(name, h, w), (x,))
            first = len(rows)
            with torch.inference_mode():
                refs = BACKBONES[name]
                if not refs:
                    ours = OURS_ALONE[name]().eval()
                    rows.append(dict(backbone=name, size=f'{h}x{w}x{b}', reference='-', ref_ms=None,
                                     ours_ms=_median_ms(lambda: ours(x), repeat), speedup=None, max_diff=None))
                for ref_name, build in refs.items():
                    try:
                        module, forward, ours = build(h, w)
                    except Exception as e:  # a reference that cannot run at this size is reported, not fatal
                        rows.append(dict(backbone=name, size=f'{h}x{w}x{b}', reference=ref_name,
                                         error=f'{type(e).__name__}: {e}'[:120]))
                        continue
                    ref_out = _comparable(ours, forward(x))
                    if ref_name.startswith('timm'):  # un-normed features: compare through our output norms
                        ref_out = [getattr(ours, f'norm{i}')(f.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
                                   for i, f in enumerate(ref_out)]
                    diff = _max_diff(ref_out, ours(x))
                    ref_ms = _median_ms(lambda: forward(x), repeat)
                    ours_ms = _median_ms(lambda: ours(x), repeat)
                    note = NOTES.get(ref_name, lambda h, w: None)(h, w)
                    rows.append(dict(backbone=name, size=f'{h}x{w}x{b}', reference=ref_name, ref_ms=ref_ms,
                                     ours_ms=ours_ms, speedup=ref_ms / ours_ms, max_diff=diff, note=note))
                    print(_format_row(rows[-1]), flush=True)
            for r in rows[first:]:
                if r.get('ours_ms'):
                    r['ours_gflops'] = ours_flops / 1e9
                    r['ours_flop_rate'] = ours_flops / (r['ours_ms'] / 1e3)
                    r['fraction_of_matmul'] = r['ours_flop_rate'] / peak if peak else None
    return rows


def _ours_as_benchmarked(name: str, h: int, w: int) -> torch.nn.Module:
    if name == 'mvitv2_t':
        return MViT('t', drop_path_rate=0., use_hwin=_mvit_hwin(h, w)).eval()
    return OURS_ALONE[name]().eval()


def _format_row(r: dict) -> str:
    if 'error' in r:
        return f"{r['backbone']:<14} {r['size']:<13} {r['reference']:<24} error: {r['error']}"
    ref = f"{r['ref_ms']:9.1f}" if r['ref_ms'] is not None else f"{'-':>9}"
    speed = f"{r['speedup']:7.2f}x" if r['speedup'] is not None else f"{'-':>8}"
    diff = f"{r['max_diff']:.1e}" if r['max_diff'] is not None else '-'
    note = f"  ({r['note']})" if r.get('note') else ''
    return f"{r['backbone']:<14} {r['size']:<13} {r['reference']:<24} {ref} {r['ours_ms']:9.1f} {speed}  {diff}{note}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--backbones', default='swin_t,scalablevit_s', help=f'comma-separated: {sorted(BACKBONES)}')
    parser.add_argument('--sizes', default='224x224x8,800x1216x1', help='HxWxBATCH, comma-separated')
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--threads', type=int, default=None, help='torch threads (default: all cores)')
    parser.add_argument('--json', help='also write the rows to this file')
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    names = [n.strip() for n in args.backbones.split(',') if n.strip()]
    unknown = set(names) - set(BACKBONES)
    if unknown:
        raise SystemExit(f'unknown backbones {sorted(unknown)}: choose from {sorted(BACKBONES)}')
    peak = matmul_rate()
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, median of {args.repeat} (ms, forward, fp32); '
          f'dense fp32 matmul (2048^3): {peak / 1e9:.1f} GFLOP/s (multiply-adds, as the FLOP counts)')
    print(f"{'backbone':<14} {'size':<13} {'reference':<24} {'ref ms':>9} {'ours ms':>9} {'speedup':>8}  max|diff|")
    rows = run(names, [parse_size(s) for s in args.sizes.split(',')], args.repeat, peak)
    for r in rows:
        if r.get('reference') == '-':
            print(_format_row(r))
    print(f"\n{'backbone':<14} {'size':<13} {'GFLOPs':>8} {'ours ms':>9} {'GFLOP/s':>9} {'of matmul':>10}")
    seen = set()
    for r in rows:
        if r.get('ours_gflops') is not None and (r['backbone'], r['size']) not in seen:
            seen.add((r['backbone'], r['size']))
            print(f"{r['backbone']:<14} {r['size']:<13} {r['ours_gflops']:8.2f} {r['ours_ms']:9.1f} "
                  f"{r['ours_flop_rate'] / 1e9:9.1f} {r['fraction_of_matmul']:9.0%}")
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(matmul_flop_rate=peak, threads=torch.get_num_threads(), rows=rows), f, indent=2)


if __name__ == '__main__':
    main()
