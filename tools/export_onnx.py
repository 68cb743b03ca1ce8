#!/usr/bin/env python
"""Export a trained model (weights from CHECKPOINT) to ONNX and check it against PyTorch with onnxruntime.

    python tools/export_onnx.py CONFIG CHECKPOINT OUT.onnx [--backbone-only] [--check-size H W ...] [--opset 17]

By default the complete model: classifiers (output ``scores``, the softmax), segmentors (Semantic FPN, UperNet;
output ``labels``, the label map at the input's size), RetinaNet-like one-stage detectors (``boxes``, ``scores``,
``labels``, test_cfg's score threshold, NMS and max detections in the graph) and Mask R-CNN / Cascade Mask R-CNN
(the same, RPN and RoI heads in the graph, plus ``masks``: per-box mask probabilities, pasted by the runtime).
Input ``image``: float32 (batch, 3, height, width), RGB, 0-255; the graph does the channel order, mean/std and the
padding to the size divisor; the test pipeline's resize is left to the caller and written, with the rest of the
preprocessing, into the file's metadata (``vdense.*`` keys).
``--backbone-only`` writes the backbone alone (input normalised, outputs the stage maps).

Exporter: torch.onnx.export(..., dynamo=False) (TorchScript tracing), standard ONNX ops only. Batch, height and
width are dynamic (vdense/deploy/onnx_export.py says how). The file is written under a temporary name next to OUT,
run by onnxruntime at batch 1 and 3 on sizes it was not traced at (--check-size; default 97x211, which pads in
every stage and merge, 224x224 and 800x1216) and compared with PyTorch's predictions (vdense/deploy/check.py);
only then is it renamed to OUT, so a failed check leaves OUT as it was. Check sizes are bounded to 2.2 MP per
image (memory). Needs requirements/export.txt (onnx, onnxruntime).
"""
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone without installing

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # tools/: cli_args (standard library only)

from cli_args import add_debug_arg, make_parser  # noqa: E402

DEFAULT_CHECK_SIZES = [(97, 211), (224, 224), (800, 1216)]


def parse_args(argv=None):
    parser = make_parser(__doc__, 'Export a vdense model (or its backbone) to ONNX')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out', help='the .onnx file to write')
    parser.add_argument('--backbone-only', action='store_true',
                        help='export the backbone alone (normalised input, the stage maps as outputs)')
    parser.add_argument('--check-size', type=int, nargs=2, action='append', metavar=('H', 'W'),
                        help='input sizes onnxruntime is checked at (repeatable; default 97 211, 224 224, 800 1216; '
                             'at most 2,200,000 pixels)')
    parser.add_argument('--opset', type=int, default=17, help='ONNX opset (16 to the newest torch writes)')
    parser.add_argument('--tolerance', type=float, default=1e-4,
                        help='--backbone-only: max relative error of the stage maps')
    add_debug_arg(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)  # before the stack is imported: --help and a wrong flag answer at once
    from vdense.engine.cli import one_line_errors
    with one_line_errors(args.debug):
        try:
            export(args)
        except (FileNotFoundError, ValueError, RuntimeError, NotImplementedError) as e:
            if args.debug:
                raise
            print(f'error: {e}', file=sys.stderr, flush=True)
            raise SystemExit(2)


def _refuse_overwriting_inputs(args):
    from vdense.engine import ensure_not_overwriting
    for path in (args.config, args.checkpoint):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path}: not found')
    if osp.isdir(args.out):
        raise ValueError(f'{args.out}: is a directory; name the .onnx file to write')
    for path in (args.config, args.checkpoint):
        ensure_not_overwriting(path, args.out)
    if not osp.isdir(osp.dirname(osp.abspath(args.out))):
        raise FileNotFoundError(f'{osp.dirname(args.out)}: no such directory for {args.out}')


def _check_shapes(sizes, backbone_only):
    checks = []
    for h, w in sizes:
        small = h * w <= 224 * 224 * 2
        checks += [(b, h, w) for b in ((1, 3) if small else (1,))]
    return checks


def export(args):
    from vdense.deploy.onnx_export import check_opset, check_sizes
    check_opset(args.opset)
    sizes = [tuple(s) for s in (args.check_size or DEFAULT_CHECK_SIZES)]
    check_sizes(sizes)
    _refuse_overwriting_inputs(args)

    import json
    import logging
    import tempfile

    from mmengine.config import Config
    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel(logging.WARNING)  # no per-tensor init report: the weights are loaded

    from vdense.deploy.graphs import build_graph, task_of
    from vdense.deploy.preprocess import describe_preprocessing
    from vdense.engine import MIN_COVERAGE_TEST, check_coverage, read_checkpoint
    from vdense.engine.build import build_model_from_config
    from vdense.engine.coverage import model_state_of
    checkpoint = read_checkpoint(args.checkpoint)
    cfg = Config.fromfile(args.config)
    model = build_model_from_config(cfg)
    check_coverage(model, checkpoint, args.checkpoint, MIN_COVERAGE_TEST, 'an export')
    model.load_state_dict(model_state_of(checkpoint), strict=False)
    model.eval()
    task = 'backbone' if args.backbone_only else task_of(model)
    graph = None if task == 'backbone' else build_graph(model, task)
    meta = checkpoint.get('meta') or {}
    classes = ((meta.get('dataset_meta') or {}).get('classes') or
               (cfg.get('test_dataloader', {}).get('dataset', {}).get('metainfo') or {}).get('classes'))
    props = {'vdense.task': task, 'vdense.config': osp.basename(args.config),
             'vdense.preprocess': json.dumps(describe_preprocessing(cfg, model, in_graph=task != 'backbone'))}
    if classes:
        props['vdense.classes'] = json.dumps(list(classes))
    props.update(getattr(graph, 'metadata', {}))  # e.g. Mask R-CNN's mask threshold, for the runtime's pasting

    out_dir = osp.dirname(osp.abspath(args.out))
    fd, tmp = tempfile.mkstemp(prefix='.' + osp.basename(args.out) + '.', suffix='.tmp', dir=out_dir)
    os.close(fd)
    try:
        checks = _check_shapes(sizes, task == 'backbone')
        if task == 'backbone':
            text, passed, names = _export_backbone(model.backbone.eval(), tmp, args, checks)
        else:
            text, passed, names = _export_model(model, graph, task, tmp, args, checks)
        props['vdense.outputs'] = json.dumps(names)
        if not passed:
            raise RuntimeError(f'{args.out}: onnxruntime differs from PyTorch ({text}); not written'
                               + (' (the previous file is kept)' if osp.exists(args.out) else ''))
        from vdense.deploy.onnx_export import write_metadata
        write_metadata(tmp, props)
        os.replace(tmp, args.out)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    what = f'{type(model.backbone).__name__} backbone' if task == 'backbone' else f'{type(model).__name__} ({task})'
    print(f'vdense: {what} -> {args.out} (opset {args.opset}, input (batch, 3, height, width), outputs '
          f'{", ".join(names)}, all dynamic; preprocessing in its metadata); onnxruntime vs PyTorch: {text}',
          flush=True)


def _export_backbone(backbone, path, args, checks):
    from vdense.deploy import export_backbone_onnx, max_relative_errors
    names = export_backbone_onnx(backbone, path, opset=args.opset)
    errors = max_relative_errors(backbone, path, checks)
    text = 'max relative error ' + ', '.join(f'batch {b} {h}x{w}: {e:.2e}' for (b, h, w), e in errors.items())
    return text, max(errors.values()) <= args.tolerance, list(names)


def _export_model(model, graph, task, path, args, checks):
    from vdense.deploy.check import check_against_pytorch
    from vdense.deploy.onnx_export import export_graph
    names = export_graph(graph, path, opset=args.opset)
    results = check_against_pytorch(model, task, path, checks,
                                    mask_threshold=getattr(graph, 'mask_threshold', 0.5))
    text = ', '.join(f'batch {b} {h}x{w}: {what}' for (b, h, w), _, what in results)
    return text, all(ok for _, ok, _ in results), list(names)


if __name__ == '__main__':
    main()
