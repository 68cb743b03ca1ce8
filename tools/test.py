#!/usr/bin/env python
"""Evaluate a checkpoint: box/mask mAP (mmdet), mIoU (mmseg) or top-1/top-5 (mmpretrain), by the config's scope.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl] [--show-dir vis]
                         [--cfg-options key=value ...]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone without installing

from vdense.engine.cli import (  # noqa: E402
    add_common_args,
    close_distributed,
    enable_visualization,
    load_config,
    one_line_errors,
    preflight,
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a vdense model')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump the raw predictions to this pickle file')
    parser.add_argument('--show-dir', help='draw predictions into this folder (mmdet: under work_dir/<time>/)')
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with one_line_errors():
        test(args)
    close_distributed()


def test(args):
    cfg = load_config(args)
    if not osp.isfile(args.checkpoint):
        print(f'error: checkpoint not found: {args.checkpoint}', file=sys.stderr)
        raise SystemExit(2)
    cfg.load_from = args.checkpoint
    if cfg.get('default_scope') == 'mmpretrain':
        # An authors' released classifier is evaluated with its own head: converted once, next to the work dir.
        from vdense.converters.classifier import released_classifier_file
        cfg.load_from = released_classifier_file(args.checkpoint, cfg.model.backbone, cfg.work_dir)
    from vdense.engine import MIN_COVERAGE_TEST, check_coverage, read_checkpoint
    checkpoint = read_checkpoint(cfg.load_from, mmap=True)  # a bad file fails here, before anything is built
    # The trained checkpoint holds every weight: the backbone's pretrained file is not needed.
    preflight(cfg, ('test_dataloader',), check_weights=False)
    if args.show_dir:
        enable_visualization(cfg, args.show_dir)

    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    # mmengine loads non-strictly: another model's checkpoint would be evaluated as a randomly initialised model.
    check_coverage(runner.model, checkpoint, args.checkpoint, MIN_COVERAGE_TEST, 'a test')
    del checkpoint
    if args.out:
        from mmengine.evaluator import DumpResults
        if not args.out.endswith(('.pkl', '.pickle')):
            raise SystemExit('--out must end with .pkl or .pickle')
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    runner.test()

if __name__ == '__main__':
    main()
