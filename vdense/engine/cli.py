"""What the command-line tools share: config loading, flag handling, friendly failures.

Nothing here is task-specific: the config's ``default_scope`` (mmdet, mmseg or mmpretrain) decides the task.
"""
import contextlib
import difflib
import os
import os.path as osp
import sys

import torch
from mmengine.config import Config, DictAction

import vdense  # noqa: F401  (compat fixes before any checkpoint is loaded)
from vdense.data.checks import DatasetNotFoundError, check_datasets, check_pretrained
from vdense.ops import MissingKernelError

from .checkpoint_reader import CheckpointError
from .load_image import UnreadableImageError


def add_common_args(parser) -> None:
    parser.add_argument('--work-dir', help='where logs and checkpoints go (default: ./work_dirs/CONFIG_NAME)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. train_dataloader.batch_size=4; a top-level name the '
                             'config does not have is refused unless written +name=value (adds it)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher (tools/dist_train.sh sets pytorch)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args) -> Config:
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options:
        cfg.merge_from_dict(checked_cfg_options(cfg, args.cfg_options))
    use_atomic_checkpoints(cfg)
    add_custom_hook(cfg, 'vdense.ExactResumeHook')
    add_custom_hook(cfg, 'vdense.ImageFilesCheckHook')
    use_checked_image_loading(cfg, skip_unreadable_in_training=getattr(args, 'skip_unreadable_images', False))
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


def checked_cfg_options(cfg: Config, options: dict) -> dict:
    """``--cfg-options`` with every top-level name known to the config: a misspelled key
    (``optim_wraper.optimizer.lr``) would otherwise add an entry nothing reads. ``+name=value`` adds a new one."""
    checked = {}
    for key, value in options.items():
        if key.startswith('+'):
            checked[key[1:]] = value
            continue
        top, known = key.split('.', 1)[0], list(cfg.keys())
        if top not in known:
            close = difflib.get_close_matches(top, known, n=3, cutoff=0.6)
            hint = f'did you mean {" or ".join(close)}? ' if close else ''
            print(f'error: --cfg-options {key}: the config has no {top!r}; {hint}'
                  f'(to add a new top-level entry, write +{key}=...)', file=sys.stderr)
            raise SystemExit(2)
        checked[key] = value
    return checked


def use_atomic_checkpoints(cfg: Config) -> None:
    """mmengine's CheckpointHook -> vdense's, which keeps the last good checkpoint through a kill during a save."""
    hook = cfg.get('default_hooks', {}).get('checkpoint')
    if hook is not None and hook.get('type') in ('CheckpointHook', 'mmengine.CheckpointHook'):
        hook['type'] = 'vdense.AtomicCheckpointHook'


def add_custom_hook(cfg: Config, hook_type: str) -> None:
    """Adds one of vdense's hooks (ExactResumeHook: random state in checkpoints; ImageFilesCheckHook: missing
    files found before the first iteration) unless the config has it."""
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(str(h.get('type', '')).split('.')[-1] == hook_type.split('.')[-1] for h in hooks):
        hooks.append(dict(type=hook_type))
    cfg.custom_hooks = hooks


def use_checked_image_loading(cfg: Config, skip_unreadable_in_training: bool = False) -> None:
    """mmcv's LoadImageFromFile -> vdense's, whose failure names the file in one line; with
    ``skip_unreadable_in_training`` the training pipeline skips such files with a counted warning instead."""

    def visit(node, in_training):
        if isinstance(node, dict):
            if node.get('type') in ('LoadImageFromFile', 'mmcv.LoadImageFromFile'):
                node['type'] = 'vdense.LoadImageFromFile'
                if in_training and skip_unreadable_in_training:
                    node['skip_unreadable'] = True
            for value in node.values():
                visit(value, in_training)
        elif isinstance(node, (list, tuple)):
            for value in node:
                visit(value, in_training)

    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(loader):
            visit(cfg[loader], loader == 'train_dataloader')


@contextlib.contextmanager
def one_line_errors():
    """A bad checkpoint, a missing or unreadable data file, an mmcv op without a kernel end a tool with one line on
    stderr and exit code 2, not a traceback."""
    try:
        yield
    except (CheckpointError, DatasetNotFoundError, MissingKernelError) as e:
        print(f'error: {e}', file=sys.stderr, flush=True)
        raise SystemExit(2)
    except UnreadableImageError as e:
        # Raised in a dataloader worker, it arrives with the worker's traceback in its text: keep our line.
        lines = [line.split('UnreadableImageError: ', 1)[-1] for line in str(e).splitlines()
                 if 'UnreadableImageError: ' in line] or str(e).splitlines()[:1]
        print(f'error: {lines[-1]}', file=sys.stderr, flush=True)
        raise SystemExit(2)


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
