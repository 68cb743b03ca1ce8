#!/usr/bin/env python
"""Train a detector, segmentor or classifier from a vdense config (the task comes from its default_scope).

    python tools/train.py configs/retinanet_scalablevit_s.py [--work-dir DIR] [--amp] [--resume [CKPT]]
                          [--auto-scale-lr] [--skip-unreadable-images] [--cfg-options key=value ...]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone without installing

from vdense.engine.cli import add_common_args, close_distributed, enable_amp, load_config, one_line_errors, preflight  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a vdense model')
    parser.add_argument('config', help='config file')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by total batch size / auto_scale_lr.base_batch_size')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or from the latest checkpoint in work_dir when no CKPT is given')
    parser.add_argument('--skip-unreadable-images', action='store_true',
                        help='skip training images that cannot be read or decoded (a counted warning each) instead '
                             'of stopping with their name')
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with one_line_errors():
        train(args)
    close_distributed()


def _checked_resume_file(cfg, requested: str):
    """The checkpoint --resume will continue from, checked to be a complete training checkpoint (None: nothing to
    resume in the work dir yet, so training starts, as mmengine does)."""
    from mmengine.runner import find_latest_checkpoint

    from vdense.engine import CheckpointError, check_training_checkpoint
    path = requested
    if requested == 'auto':
        path = find_latest_checkpoint(cfg.work_dir) if osp.isdir(cfg.work_dir) else None
        if path is None:
            return None
        if not osp.isfile(path):
            raise CheckpointError(f'{osp.join(cfg.work_dir, "last_checkpoint")} names {path}, which does not exist; '
                                  'pass the checkpoint to continue from: --resume CKPT')
    check_training_checkpoint(path)
    return path


def train(args):
    cfg = load_config(args)
    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise SystemExit('--auto-scale-lr needs auto_scale_lr.base_batch_size in the config')
        cfg.auto_scale_lr.enable = True
    if args.resume is not None:
        resume_from = _checked_resume_file(cfg, args.resume)
        cfg.resume, cfg.load_from = True, resume_from
    initial = None
    if cfg.get('load_from') and not cfg.get('resume'):
        from vdense.engine import read_checkpoint
        initial = read_checkpoint(cfg.load_from, mmap=True)  # a bad file fails here, before anything is built
    # mmengine runs init_weights (which loads a backbone's Pretrained file) even before resuming: always check.
    preflight(cfg, ('train_dataloader', 'val_dataloader'))

    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    if initial is not None:
        from vdense.engine import MIN_COVERAGE_INIT, check_coverage
        check_coverage(runner.model, initial, cfg.load_from, MIN_COVERAGE_INIT, 'load_from')
        del initial
    runner.train()

if __name__ == '__main__':
    main()
