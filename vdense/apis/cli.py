"""What tools/train.py and tools/test.py share: config loading, flag handling, friendly failures.

Nothing here is task-specific: the config's ``default_scope`` (mmdet, mmseg or mmpretrain) decides the task.
"""
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction

import vdense  # noqa: F401  (compat fixes before any checkpoint is loaded)
from vdense.datasets.checks import DatasetNotFoundError, check_datasets, check_pretrained


def add_common_args(parser) -> None:
    parser.add_argument('--work-dir', help='where logs and checkpoints go (default: ./work_dirs/CONFIG_NAME)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. train_dataloader.batch_size=4')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher (tools/dist_train.sh sets pytorch)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args) -> Config:
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return cfg


def enable_amp(cfg: Config) -> None:
    wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper == 'AmpOptimWrapper':
        return
    if wrapper != 'OptimWrapper':
        raise SystemExit(f'--amp only works with OptimWrapper, this config uses {wrapper}')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


def preflight(cfg: Config, loaders, check_weights: bool = True) -> None:
    """Fails with one readable message (exit code 2) when data or pretrained weights are missing."""
    try:
        check_datasets(cfg, loaders)
        if check_weights:
            check_pretrained(cfg)
    except (DatasetNotFoundError, FileNotFoundError) as e:
        print(f'error: {e}', file=sys.stderr)
        raise SystemExit(2)


def enable_visualization(cfg: Config, show_dir: str) -> None:
    """Turns on the scope's visualization hook so test-time predictions are drawn into ``show_dir``."""
    hooks = cfg.default_hooks
    if 'visualization' not in hooks:
        raise SystemExit('--show-dir needs a `visualization` hook in default_hooks; this config has none')
    hook = hooks.visualization
    scope = cfg.get('default_scope')
    if scope == 'mmdet':
        hook.update(draw=True, test_out_dir=show_dir)  # DetVisualizationHook: under work_dir/<timestamp>/
    elif scope == 'mmseg':
        hook.update(draw=True, interval=1)
        cfg.visualizer['save_dir'] = show_dir
    elif scope == 'mmpretrain':
        hook.update(enable=True, out_dir=show_dir)
    else:
        hook.update(draw=True)
