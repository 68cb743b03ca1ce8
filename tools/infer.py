#!/usr/bin/env python
"""Run a trained model on your own images: drawn predictions and a machine-readable result per image.

    python tools/infer.py CONFIG CHECKPOINT INPUT... [--out-dir DIR] [--device cpu|cuda] [--batch-size N]
                          [--score-thr 0.3] [--topk 5] [--cfg-options key=value ...]

INPUT: image files, folders (their images) and globs ('data/*.jpg', quoted). The task (detection, segmentation,
classification) comes from the config's default_scope. Each output is named by the input's path relative to the
inputs' common folder, file name kept whole (NAME = e.g. a/x.jpg): DIR/vis/NAME.png (drawn, on a copy downscaled
to --draw-max-side), DIR/preds/NAME.json (one per image), DIR/results.json (all) and, for segmentation,
DIR/pred/NAME.png (label maps of the input's size).
Every image is decoded once before the model is built, as the config's pipeline decodes it (EXIF orientation
applied); one that cannot be decoded, is not 8-bit colour, has an aspect ratio above 100:1 or exceeds
--max-pixels stops the run with one line naming it. Memory: the model plus --batch-size decoded
images (at most --max-pixels x 3 bytes each) and their predictions (detection masks: 1 byte per pixel and
instance), plus up to 256 MB of images kept from the check.
The config always comes from the command line; the checkpoint is read as data only.
"""
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone without installing

if __name__ == '__main__' and len(sys.argv) > 1 and sys.argv[1].lower().endswith('.onnx'):
    # An exported model: vdense/deploy/runtime.py (onnxruntime, numpy, OpenCV), loaded by path so that neither
    # vdense's package (torch) nor the OpenMMLab stack is imported.
    import importlib.util
    _spec = importlib.util.spec_from_file_location(
        'vdense_onnx_runtime', osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'vdense', 'deploy',
                                        'runtime.py'))
    _runtime = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_runtime)
    raise SystemExit(_runtime.main(sys.argv[1:]))

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # tools/: cli_args (standard library only)

from cli_args import add_debug_arg, make_parser  # noqa: E402


def parse_args(argv=None):
    parser = make_parser(__doc__, 'Predict on image files with a vdense model (or an exported .onnx file)')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('inputs', nargs='+', metavar='INPUT', help='image files, folders or globs')
    parser.add_argument('--out-dir', default='outputs', help='where the results go (default: ./outputs)')
    parser.add_argument('--device', default='cpu', help="'cpu', 'cuda' or 'cuda:N' (default: cpu)")
    parser.add_argument('--batch-size', type=int, default=1, help='images per forward pass')
    parser.add_argument('--score-thr', type=float, default=0.3, help='detection: keep and draw scores >= this')
    parser.add_argument('--topk', type=int, default=5, help='classification: the k best classes')
    parser.add_argument('--no-draw', action='store_true', help='write the results only, no drawings')
    parser.add_argument('--draw-max-side', type=int, default=2048,
                        help='drawings are made on a copy downscaled to at most this many pixels (default: 2048)')
    parser.add_argument('--max-pixels', type=float, default=64e6,
                        help='refuse images above this many pixels (default: 64e6), which bounds memory')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    # Raw strings, parsed by vdense.engine.cli after the stack is imported: --help answers at once.
    parser.add_argument('--cfg-options', nargs='+', metavar='KEY=VALUE', help='override config entries')
    add_debug_arg(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)  # before the stack is imported: --help and a wrong flag answer at once
    from vdense.engine.cli import run_tool
    run_tool(infer, args)


def infer(args):
    from mmengine.config import Config

    from vdense.apis import InferenceInputError, run_inference
    from vdense.apis.inference import predictions_summary
    try:
        if not osp.isfile(args.config):
            raise InferenceInputError(f'{args.config}: config not found')
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            from vdense.engine.cli import checked_cfg_options, parse_cfg_options
            cfg.merge_from_dict(checked_cfg_options(cfg, parse_cfg_options(args.cfg_options)))
        if args.device.startswith('cuda'):
            import torch
            if not torch.cuda.is_available():
                raise InferenceInputError(f'--device {args.device}: no CUDA device here; use --device cpu')
        records = run_inference(cfg, args.checkpoint, args.inputs, args.out_dir, device=args.device,
                                batch_size=args.batch_size, score_thr=args.score_thr, topk=args.topk,
                                show_progress=not args.no_progress, draw=not args.no_draw,
                                draw_max_side=args.draw_max_side, max_pixels=int(args.max_pixels))
    except InferenceInputError as e:
        if args.debug:
            raise
        print(f'error: {e}', file=sys.stderr, flush=True)
        raise SystemExit(2)
    print(f'vdense: {predictions_summary(records)}', flush=True)
    written = [osp.join(args.out_dir, 'results.json'), osp.join(args.out_dir, 'preds') + os.sep]
    if records and 'seg_map' in records[0]:
        written.append(osp.join(args.out_dir, 'pred') + os.sep)
    if records and 'vis' in records[0]:
        written.append(osp.join(args.out_dir, 'vis') + os.sep)
    print(f'vdense: results in {", ".join(written)}', flush=True)


if __name__ == '__main__':
    main()
