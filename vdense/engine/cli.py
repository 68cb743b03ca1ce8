"""What the command-line tools share: config loading, flag handling, friendly failures.

Nothing here is task-specific: the config's ``default_scope`` (mmdet, mmseg or mmpretrain) decides the task.
The tools parse their arguments first (tools/cli_args.py, standard library only) and import this module after,
so that ``--help`` answers in a fraction of a second.
"""
import contextlib
import difflib
import glob
import logging
import os
import os.path as osp
import sys

import torch
from mmengine.config import Config, DictAction

import vdense  # noqa: F401  (compat fixes before any checkpoint is loaded)
from vdense.data.checks import DatasetNotFoundError, check_datasets, check_pretrained
from vdense.ops import MissingKernelError

from .cfg_options import CfgOptionError, check_option_key, check_option_value
from .checkpoint_reader import CheckpointError
from .error_line import describe
from .load_image import UnreadableImageError

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_loaded_config = None  # the config the running tool loaded: error lines name its entries


class ConfigError(ValueError):
    """A command line or config the tool cannot run: one line, exit code 2."""


def add_common_args(parser) -> None:
    """The options of tools/train.py and tools/test.py, for Python callers (the tools use tools/cli_args.py)."""
    parser.add_argument('--work-dir', help='where logs and checkpoints go (default: ./work_dirs/CONFIG_NAME)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. train_dataloader.batch_size=4; a top-level name the '
                             'config does not have is refused unless written +name=value (adds it)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher (tools/dist_train.sh sets pytorch)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument('--debug', action='store_true', help='full tracebacks and the whole log on the console')


def closest_configs(path: str, n: int = 3) -> list:
    """Config files whose path is closest to ``path``, under ./configs and the clone's configs/."""
    found = set()
    for root in {os.getcwd(), REPO_ROOT}:
        for f in glob.glob(osp.join(root, 'configs', '**', '*.py'), recursive=True):
            if '_base_' not in f.split(os.sep):
                found.add(osp.relpath(f) if not osp.relpath(f).startswith('..') else f)
    by_name = {}
    for f in sorted(found):
        by_name.setdefault(osp.basename(f), f)
    names = difflib.get_close_matches(osp.basename(path), list(by_name), n=n, cutoff=0.6)
    return [by_name[name] for name in names]


def check_config_path(path: str) -> None:
    if osp.isfile(path):
        return
    close = closest_configs(path)
    hint = f'; did you mean {" or ".join(close)}?' if close else ''
    what = 'is a folder, not a config file' if osp.isdir(path) else 'config not found'
    raise ConfigError(f'{path}: {what} (working directory {os.getcwd()}){hint}')


def parse_cfg_options(raw) -> dict:
    """``--cfg-options`` as mmengine's DictAction reads them (``key=value``, lists, tuples, numbers, booleans)."""
    if raw is None or isinstance(raw, dict):
        return raw or {}
    options = {}
    for item in raw:
        if '=' not in item:
            raise ConfigError(f'--cfg-options {item}: expected KEY=VALUE')
        key, value = item.split('=', 1)
        options[key] = DictAction._parse_iterable(value)
    return options


def load_config(args) -> Config:
    global _loaded_config
    check_config_path(args.config)
    cfg = Config.fromfile(args.config)
    _loaded_config = cfg
    cfg.launcher = args.launcher
    options = parse_cfg_options(args.cfg_options)
    if options:
        cfg.merge_from_dict(checked_cfg_options(cfg, options))
    use_atomic_checkpoints(cfg)
    add_custom_hook(cfg, 'vdense.ExactResumeHook')
    add_custom_hook(cfg, 'vdense.ImageFilesCheckHook')
    use_checked_image_loading(cfg, skip_unreadable_in_training=getattr(args, 'skip_unreadable_images', False))
    use_counted_annotations(cfg)
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
    """``--cfg-options`` checked against the config before anything is built: a misspelled top-level name
    (``optim_wraper.optimizer.lr``) would add an entry nothing reads, a misspelled nested one
    (``default_hooks.checkpoint.max_keep_ckpt``) fail only when it is used, a number set to text deep in the
    optimizer. ``+name=value`` adds an entry unchecked. Refusals are one-line :class:`ConfigError`\\ s."""
    checked = {}
    for key, value in options.items():
        if key.startswith('+'):
            checked[key[1:]] = value
            continue
        top, known = key.split('.', 1)[0], list(cfg.keys())
        if top not in known:
            close = difflib.get_close_matches(top, known, n=3, cutoff=0.6)
            hint = f'did you mean {" or ".join(close)}? ' if close else ''
            raise ConfigError(f'--cfg-options {key}: the config has no {top!r}; {hint}'
                              f'(to add a new top-level entry, write +{key}=...)')
        checked[key] = value
    try:
        merged = Config(cfg._cfg_dict.to_dict())
        merged.merge_from_dict(checked)
    except Exception:  # a config the copy cannot hold (lazy objects): mmengine's own merge reports what is wrong
        return checked
    for key, value in options.items():
        if key.startswith('+'):
            continue
        try:
            check_option_value(cfg._cfg_dict, key, value)
            check_option_key(cfg._cfg_dict, merged._cfg_dict, key)
        except CfgOptionError as e:
            raise ConfigError(str(e)) from None
        except Exception:  # a class the check cannot inspect: left to the build, as without the check
            continue
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


# The stack's exceptions that a config, a flag or a data file cause; each becomes one line (error_line.py).
STACK_ERRORS = (OSError, ValueError, TypeError, KeyError, AssertionError, IndexError, RuntimeError, ImportError)
DEBUG_HINT = ' (--debug: full traceback)'


@contextlib.contextmanager
def one_line_errors(debug: bool = False):
    """A bad checkpoint, config, flag or data file, an mmcv op without a kernel end a tool with one line on stderr
    and exit code 2, not a traceback; the stack's own exceptions too, with the config entry or file they concern.
    ``debug``: the exception propagates with its full traceback."""
    try:
        yield
    except (CheckpointError, DatasetNotFoundError, MissingKernelError, ConfigError) as e:
        if debug:
            raise
        _fail(str(e))
    except UnreadableImageError as e:
        if debug:
            raise
        # Raised in a dataloader worker, it arrives with the worker's traceback in its text: keep our line.
        lines = [line.split('UnreadableImageError: ', 1)[-1] for line in str(e).splitlines()
                 if 'UnreadableImageError: ' in line] or str(e).splitlines()[:1]
        _fail(lines[-1])
    except STACK_ERRORS as e:
        if debug:
            raise
        _fail(describe(e, _loaded_config) + DEBUG_HINT)


def _fail(message: str) -> None:
    print(f'error: {message}', file=sys.stderr, flush=True)
    raise SystemExit(2)


def run_tool(main, args):
    """Runs a tool's ``main(args)`` with :func:`one_line_errors` (``args.debug`` for tracebacks), then ends a
    distributed run cleanly."""
    with one_line_errors(getattr(args, 'debug', False)):
        result = main(args)
    close_distributed()
    return result


# Log records that a person does not read while a run starts (the config dump, ~190 paramwise lines, the
# environment, the hook table): kept in the work dir's log file, not on the console.
FILE_ONLY = ('Config:\n', '\n' + '-' * 60 + '\nSystem environment:', 'paramwise_options --',
             'Hooks will be executed in the following order')


class _FileOnlyRecords(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith(FILE_ONLY))


class _QuietConsoleRunner:
    """Mixed into the config's runner class: its console handler leaves :data:`FILE_ONLY` records to the file."""

    def build_logger(self, *args, **kwargs):
        logger = super().build_logger(*args, **kwargs)
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                handler.addFilter(_FileOnlyRecords())
        return logger


def build_runner(cfg: Config, debug: bool = False):
    """The config's runner (mmengine's ``Runner`` or ``runner_type``). Unless ``debug``, the config dump,
    environment, paramwise and hook lines go to the log file only; one console line says where."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from .build import guarded_runner_class
    base = Runner if 'runner_type' not in cfg else RUNNERS.get(cfg.runner_type)
    if base is None:
        raise ConfigError(f'runner_type={cfg.runner_type!r}: no such runner registered')
    base = guarded_runner_class(base)  # SEC: training lock, config dump never onto the config (vdense/engine/build.py)
    if debug:
        return base.from_cfg(cfg)
    runner = type(base.__name__, (_QuietConsoleRunner, base), {}).from_cfg(cfg)
    log_file = log_file_of(runner)
    if log_file:
        runner.logger.info(f'vdense: config, environment and hook order in {log_file}')
    return runner


def log_file_of(runner):
    for handler in runner.logger.handlers:
        if isinstance(handler, logging.FileHandler):
            return shown_path(handler.baseFilename)
    return None


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
    if not torch.cuda.is_available():
        raise ConfigError('--amp: mixed precision (mmengine\'s AmpOptimWrapper) needs a CUDA GPU and there is none '
                          'here; run without --amp')
    wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper == 'AmpOptimWrapper':
        return
    if wrapper != 'OptimWrapper':
        raise ConfigError(f'--amp only works with OptimWrapper, this config uses {wrapper}')
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


def use_counted_annotations(cfg: Config) -> None:
    """mmdet's CocoDataset -> vdense's, which counts the annotations mmdet drops silently (unknown category ids,
    boxes without area) and reports them in one line per file."""

    def visit(node):
        if isinstance(node, dict):
            if node.get('type') in ('CocoDataset', 'mmdet.CocoDataset'):
                node['type'] = 'vdense.CocoDataset'
            for value in node.values():
                visit(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                visit(value)

    if cfg.get('default_scope') == 'mmdet':
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            if cfg.get(loader):
                visit(cfg[loader].get('dataset'))


def enable_visualization(cfg: Config, show_dir: str):
    """Turns on the scope's visualization hook so test-time predictions are drawn into ``show_dir``; returns a
    function of the runner giving the folder the drawings really land in (mmdet's is under the run's timestamp)."""
    hooks = cfg.default_hooks
    if 'visualization' not in hooks:
        raise ConfigError('--show-dir needs a `visualization` hook in default_hooks; this config has none')
    hook = hooks.visualization
    scope = cfg.get('default_scope')
    # A relative folder goes under the work dir for every task, as mmdet's hook does (never into the cwd).
    out_dir = show_dir if osp.isabs(show_dir) else osp.join(cfg.work_dir, show_dir)
    if scope == 'mmdet':
        hook.update(draw=True, test_out_dir=show_dir)  # DetVisualizationHook: under work_dir/<timestamp>/
        return lambda runner: osp.join(runner.work_dir, runner.timestamp, show_dir)
    if scope == 'mmseg':
        hook.update(draw=True, interval=1)
        cfg.visualizer['save_dir'] = out_dir  # SegLocalVisualizer writes out_dir/vis_image/*.png
        return lambda runner: osp.join(out_dir, 'vis_image')
    if scope == 'mmpretrain':
        hook.update(enable=True, interval=1, out_dir=out_dir)
    else:
        hook.update(draw=True)
    return lambda runner: out_dir


def metrics_line(metrics: dict) -> str:
    """``coco/bbox_mAP 0.612, coco/bbox_mAP_50 0.874, ...`` (the headline metrics a person reads)."""
    shown = []
    for key, value in (metrics or {}).items():
        if getattr(value, 'ndim', None) == 0:  # mmseg reports numpy float32 scalars, some metrics 0-d tensors
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue  # per-class tables and the like: in the log
        shown.append(f'{key} {value}' if isinstance(value, int) else f'{key} {value:.4f}')
    return ', '.join(shown) or 'no metrics'


def shown_path(path: str) -> str:
    """A path as a person types it from here: relative under the working directory, absolute elsewhere."""
    rel = osp.relpath(path)
    return path if rel.startswith('..') else rel
