#!/usr/bin/env python
"""Train a detector, segmentor or classifier from a vdense config (the task comes from its default_scope).

    python tools/train.py configs/retinanet_scalablevit_s.py [--work-dir DIR] [--amp] [--resume [CKPT]]
                          [--auto-scale-lr] [--skip-unreadable-images] [--cfg-options key=value ...] [--debug]

The console shows progress; the config dump, environment and hook order are in WORK_DIR/<timestamp>/*.log.
The last lines name the last checkpoint, the last validation's metrics and the log file.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # tools/: cli_args (standard library only)

from cli_args import add_common_args, add_repo_to_path, make_parser  # noqa: E402


def parse_args(argv=None):
    parser = make_parser(__doc__, 'Train a vdense model')
    parser.add_argument('config', help='config file')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision (needs a CUDA GPU)')
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
    args = parse_args(argv)  # before the stack is imported: --help and a wrong flag answer at once
    add_repo_to_path()
    from vdense.engine.cli import run_tool
    run_tool(train, args)


def _checked_resume_file(cfg, requested: str):
    """The checkpoint --resume will continue from and its contents, checked to be a complete training checkpoint
    ((None, None): nothing to resume in the work dir yet, so training starts, as mmengine does)."""
    from mmengine.runner import find_latest_checkpoint

    from vdense.engine import CheckpointError, check_training_checkpoint
    path = requested
    if requested == 'auto':
        path = find_latest_checkpoint(cfg.work_dir) if osp.isdir(cfg.work_dir) else None
        if path is None:
            return None, None
        if not osp.isfile(path):
            raise CheckpointError(f'{osp.join(cfg.work_dir, "last_checkpoint")} names {path}, which does not exist; '
                                  'pass the checkpoint to continue from: --resume CKPT')
    return path, check_training_checkpoint(path)


def train(args):
    from vdense.engine.cli import ConfigError, build_runner, enable_amp, load_config, preflight
    cfg = load_config(args)
    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise ConfigError('--auto-scale-lr needs auto_scale_lr.base_batch_size in the config')
        cfg.auto_scale_lr.enable = True
    resumed = None
    if args.resume is not None:
        resume_from, resumed = _checked_resume_file(cfg, args.resume)
        cfg.resume, cfg.load_from = True, resume_from
    initial = None
    if cfg.get('load_from') and not cfg.get('resume'):
        from vdense.engine import read_checkpoint
        initial = read_checkpoint(cfg.load_from, mmap=True)  # a bad file fails here, before anything is built
    # mmengine runs init_weights (which loads a backbone's Pretrained file) even before resuming: always check.
    preflight(cfg, ('train_dataloader', 'val_dataloader'))

    runner = build_runner(cfg, args.debug)
    from vdense.engine import MIN_COVERAGE_INIT, MIN_COVERAGE_TEST, check_coverage
    if initial is not None:
        check_coverage(runner.model, initial, cfg.load_from, MIN_COVERAGE_INIT, 'load_from')
        del initial
    if resumed is not None:
        # mmengine resumes non-strictly: another model's checkpoint (a segmentor's into a detector) would fail
        # later on its optimizer state, or continue from random weights.
        check_coverage(runner.model, resumed, cfg.load_from, MIN_COVERAGE_TEST, '--resume')
        del resumed
    runner.train()
    _report(runner)


def _report(runner) -> None:
    """The last lines: where the checkpoint and the log are, and the last validation's metrics."""
    from mmengine.dist import is_main_process

    from vdense.engine.cli import log_file_of, metrics_line, shown_path
    if not is_main_process():
        return
    last = osp.join(runner.work_dir, 'last_checkpoint')
    checkpoint = open(last).read().strip() if osp.isfile(last) else None
    metrics = {key[4:]: value.current() for key, value in runner.message_hub.log_scalars.items()
               if key.startswith('val/') and key[4:] not in ('time', 'data_time')}
    if metrics:
        print(f'vdense: last validation (epoch {runner.epoch}, iter {runner.iter}): {metrics_line(metrics)}',
              flush=True)
    print(f'vdense: log in {log_file_of(runner)}', flush=True)
    if checkpoint:
        print(f'vdense: last checkpoint {shown_path(checkpoint)}', flush=True)


if __name__ == '__main__':
    main()
