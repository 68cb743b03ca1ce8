#!/usr/bin/env python
"""Train a detector, segmentor or classifier from a vdense config (the task comes from its default_scope).

    python tools/train.py configs/retinanet_scalablevit_s.py [--work-dir DIR] [--amp] [--resume [CKPT]]
                          [--auto-scale-lr] [--cfg-options key=value ...]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a clone without installing

from vdense.apis import add_common_args, close_distributed, enable_amp, load_config, preflight  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a vdense model')
    parser.add_argument('config', help='config file')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by total batch size / auto_scale_lr.base_batch_size')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or from the latest checkpoint in work_dir when no CKPT is given')
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args)
    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise SystemExit('--auto-scale-lr needs auto_scale_lr.base_batch_size in the config')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    # mmengine runs init_weights (which loads a backbone's Pretrained file) even before resuming: always check.
    preflight(cfg, ('train_dataloader', 'val_dataloader'))

    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.train()
    close_distributed()


if __name__ == '__main__':
    main()
