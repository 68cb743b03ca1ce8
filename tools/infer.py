#!/usr/bin/env python
"""Run a trained model on your own images: drawn predictions and a machine-readable result per image.

    python tools/infer.py CONFIG CHECKPOINT INPUT... [--out-dir DIR] [--device cpu|cuda] [--batch-size N]
                          [--score-thr 0.3] [--topk 5] [--cfg-options key=value ...]

INPUT: image files, folders (their images) and globs ('data/*.jpg', quoted). The task (detection, segmentation,
classification) comes from the config's default_scope. Writes DIR/vis/*.png (drawn), DIR/preds/*.json (one per
image), DIR/results.json (all) and, for segmentation, DIR/pred/*.png (label maps of the input's size).
The config always comes from the command line; the checkpoint is read as data only.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone without installing

from vdense.engine.cli import checked_cfg_options, one_line_errors  # noqa: E402


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Predict on image files with a vdense model')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('inputs', nargs='+', metavar='INPUT', help='image files, folders or globs')
    parser.add_argument('--out-dir', default='outputs', help='where the results go (default: ./outputs)')
    parser.add_argument('--device', default='cpu', help="'cpu', 'cuda' or 'cuda:N' (default: cpu)")
    parser.add_argument('--batch-size', type=int, default=1, help='images per forward pass')
    parser.add_argument('--score-thr', type=float, default=0.3, help='detection: keep and draw scores >= this')
    parser.add_argument('--topk', type=int, default=5, help='classification: the k best classes')
    parser.add_argument('--no-draw', action='store_true', help='write the results only, no drawings')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with one_line_errors():
        infer(args)


def infer(args):
    from mmengine.config import Config

    from vdense.apis import InferenceInputError, run_inference
    from vdense.apis.inference import predictions_summary
    try:
        if not osp.isfile(args.config):
            raise InferenceInputError(f'{args.config}: config not found')
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(checked_cfg_options(cfg, args.cfg_options))
        if args.device.startswith('cuda'):
            import torch
            if not torch.cuda.is_available():
                raise InferenceInputError(f'--device {args.device}: no CUDA device here; use --device cpu')
        records = run_inference(cfg, args.checkpoint, args.inputs, args.out_dir, device=args.device,
                                batch_size=args.batch_size, score_thr=args.score_thr, topk=args.topk,
                                show_progress=not args.no_progress, draw=not args.no_draw)
    except InferenceInputError as e:
        print(f'error: {e}', file=sys.stderr, flush=True)
        raise SystemExit(2)
    print(f'vdense: {predictions_summary(records)}; results in {osp.join(args.out_dir, "results.json")}, '
          f'drawings in {osp.join(args.out_dir, "vis")}', flush=True)


if __name__ == '__main__':
    main()
