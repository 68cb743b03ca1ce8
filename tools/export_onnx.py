#!/usr/bin/env python
"""Export a config's backbone (weights from CHECKPOINT) to ONNX and check it against PyTorch with onnxruntime.

    python tools/export_onnx.py CONFIG CHECKPOINT OUT.onnx [--shape H W] [--opset 17] [--tolerance 1e-4]

Exporter: torch.onnx.export(..., dynamo=False) (TorchScript tracing), opset 17 by default. The graph has a dynamic
batch axis and the fixed input size --shape (default 224 224); see vdense/deploy/onnx_export.py for why height and
width are not dynamic yet. After writing, the graph is run by onnxruntime at batch 1 and 3 and compared with the
PyTorch backbone; above --tolerance (max relative error) the file is removed and the tool ends with one line.
Needs requirements/export.txt (onnx, onnxruntime).
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone without installing

from vdense.engine.cli import one_line_errors  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export a vdense backbone to ONNX')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out', help='the .onnx file to write')
    parser.add_argument('--shape', type=int, nargs=2, default=(224, 224), metavar=('H', 'W'))
    parser.add_argument('--opset', type=int, default=17)
    parser.add_argument('--tolerance', type=float, default=1e-4)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with one_line_errors():
        try:
            export(args)
        except (FileNotFoundError, ValueError, RuntimeError) as e:
            print(f'error: {e}', file=sys.stderr, flush=True)
            raise SystemExit(2)


def export(args):
    from mmengine.config import Config

    from vdense.deploy import export_backbone_onnx, max_relative_errors
    from vdense.engine import MIN_COVERAGE_TEST, check_coverage, ensure_not_overwriting, read_checkpoint
    from vdense.engine.build import build_model_from_config
    for path in (args.config, args.checkpoint):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path}: not found')
    ensure_not_overwriting(args.checkpoint, args.out)
    checkpoint = read_checkpoint(args.checkpoint)
    model = build_model_from_config(Config.fromfile(args.config))
    check_coverage(model, checkpoint, args.checkpoint, MIN_COVERAGE_TEST, 'an export')
    from vdense.engine.coverage import model_state_of
    model.load_state_dict(model_state_of(checkpoint), strict=False)
    backbone = model.backbone.eval()
    h, w = args.shape
    names = export_backbone_onnx(backbone, args.out, h, w, opset=args.opset)
    errors = max_relative_errors(backbone, args.out, [(1, h, w), (3, h, w)])
    worst = max(errors.values())
    text = ', '.join(f'batch {b} {hh}x{ww}: {e:.2e}' for (b, hh, ww), e in errors.items())
    if worst > args.tolerance:
        os.remove(args.out)
        raise RuntimeError(f'{args.out}: onnxruntime differs from PyTorch at {h}x{w} (max relative error {text}, '
                           f'above {args.tolerance:g}); not written. Sizes whose stages need padding do not export '
                           'correctly yet: use a multiple of 32 * the window size (224 for window 7)')
    print(f'vdense: {type(backbone).__name__} backbone -> {args.out} (opset {args.opset}, outputs {", ".join(names)}, '
          f'input (batch, 3, {h}, {w}), batch dynamic); onnxruntime vs PyTorch max relative error {text}', flush=True)


if __name__ == '__main__':
    main()
