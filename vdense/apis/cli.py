"""What tools/train.py and tools/test.py share: config loading, flag handling, friendly failures.

Nothing here is task-specific: the config's ``default_scope`` (mmdet, mmseg or mmpretrain) decides the task.
"""
import os
import os.path as osp
import sys

import torch
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
    if cfg.launcher == 'none' or not torch.cuda.is_available():
        fall_back_from_sync_bn(cfg)
    if cfg.launcher != 'none' and not torch.cuda.is_available():
        _prepare_cpu_distributed(cfg)
    return cfg


def _prepare_cpu_distributed(cfg: Config) -> None:
    """Distributed runs without GPUs (CPU clusters, tests): gloo instead of the configs' nccl, and DDP without
    device ids. mmengine would call ``torch.cuda.set_device`` before initialising the process group; it skips its
    own initialisation when a group exists, so the gloo group is created here."""
    import torch.distributed as dist
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    if cfg.launcher == 'pytorch' and not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
    wrapper.setdefault('device_ids', None)  # CPU modules: DDP refuses device ids
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = wrapper


def close_distributed() -> None:
    """End a distributed run cleanly: all ranks meet, then the process group is destroyed. Left to interpreter exit,
    a gloo group's threads can be torn down while still joinable, and a rank that already finished its work aborts
    with "terminate called without an active exception" (SIGABRT), failing the whole launch."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def fall_back_from_sync_bn(cfg: Config) -> int:
    """SyncBN needs a process group and a GPU; in a single process or on CPUs it is plain BN. Rewrites every
    ``SyncBN`` norm_cfg of the model to ``BN`` and says so in one line, so one config runs on a laptop and on 8 GPUs.
    """
    count = 0

    def visit(node):
        nonlocal count
        if isinstance(node, dict):
            if node.get('type') in ('SyncBN', 'MMSyncBN'):
                node['type'] = 'BN'
                count += 1
            for value in node.values():
                visit(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                visit(value)

    visit(cfg.get('model', {}))
    if count:
        why = 'single process' if cfg.get('launcher', 'none') == 'none' else 'no GPU'
        print(f'vdense: {why}: {count} SyncBN norm config(s) run as plain BN', flush=True)
    return count


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
    # A relative folder goes under the work dir for every task, as mmdet's hook does (never into the cwd).
    out_dir = show_dir if osp.isabs(show_dir) else osp.join(cfg.work_dir, show_dir)
    if scope == 'mmdet':
        hook.update(draw=True, test_out_dir=show_dir)  # DetVisualizationHook: under work_dir/<timestamp>/
    elif scope == 'mmseg':
        hook.update(draw=True, interval=1)
        cfg.visualizer['save_dir'] = out_dir  # SegLocalVisualizer writes out_dir/vis_image/*.png
    elif scope == 'mmpretrain':
        hook.update(enable=True, interval=1, out_dir=out_dir)
    else:
        hook.update(draw=True)
