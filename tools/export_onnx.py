#!/usr/bin/env python
"""Export a config's backbone (weights from CHECKPOINT) to ONNX and check it against PyTorch with onnxruntime.

    python tools/export_onnx.py CONFIG CHECKPOINT OUT.onnx [--check-size H W ...] [--opset 17] [--tolerance 1e-4]

Exporter: torch.onnx.export(..., dynamo=False) (TorchScript tracing), opset 17 by default. Batch, height and width
are dynamic: one file serves every input size (vdense/deploy/onnx_export.py says how). After writing, the graph is
run by onnxruntime at batch 1 and 3 and at the --check-size sizes (default 224x224 and 800x1216, neither the traced
size) and compared with the PyTorch backbone; above --tolerance (max relative error) the file is removed and the
tool ends with one line. Needs requirements/export.txt (onnx, onnxruntime).
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
    parser.add_argument('--check-size', type=int, nargs=2, action='append', metavar=('H', 'W'),
                        help='input sizes onnxruntime is checked at (repeatable; default 224 224 and 800 1216)')
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
    import logging

    from mmengine.config import Config
    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel(logging.WARNING)  # no per-tensor init report: the weights are loaded

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
    names = export_backbone_onnx(backbone, args.out, opset=args.opset)
    sizes = [tuple(s) for s in (args.check_size or [(224, 224), (800, 1216)])]
    checks = [(batch, h, w) for (h, w) in sizes for batch in ((1, 3) if h * w <= 224 * 224 * 2 else (1,))]
    errors = max_relative_errors(backbone, args.out, checks)
    worst = max(errors.values())
    text = ', '.join(f'batch {b} {hh}x{ww}: {e:.2e}' for (b, hh, ww), e in errors.items())
    if worst > args.tolerance:
        os.remove(args.out)
        raise RuntimeError(f'{args.out}: onnxruntime differs from PyTorch (max relative error {text}, above '
                           f'{args.tolerance:g}); not written')
    print(f'vdense: {type(backbone).__name__} backbone -> {args.out} (opset {args.opset}, input (batch, 3, height, '
          f'width), outputs {", ".join(names)}, all dynamic); onnxruntime vs PyTorch max relative error {text}',
          flush=True)


if __name__ == '__main__':
    main()
