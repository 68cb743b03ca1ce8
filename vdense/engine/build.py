"""Building a config's model and a synthetic batch for it outside the Runner (analysis tools, benchmarks, tests),
as the Runner itself would build them; and what the tools' runners add about their work dir (a training lock, a
config dump that never replaces the config)."""
import copy
import importlib
import logging
import os
import os.path as osp
import socket
import time

import torch
from mmengine.config import Config
from mmengine.dist import master_only
from mmengine.logging import print_log

from .checkpoint_reader import CheckpointError, safe_text


def strip_pretrained(node) -> None:
    """Drops every ``init_cfg=dict(type='Pretrained', ...)``: for shape/FLOP analysis and tests no weights are read."""
    if isinstance(node, dict):
        if isinstance(node.get('init_cfg'), dict) and node['init_cfg'].get('type') == 'Pretrained':
            node['init_cfg'] = None
        for value in node.values():
            strip_pretrained(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            strip_pretrained(value)


def build_model_from_config(cfg: Config, pretrained: bool = False, init_weights: bool = True):
    """The config's model in its own scope (mmdet/mmseg/mmpretrain), custom imports done, the top-level
    ``data_preprocessor`` handed over as the Runner does, SyncBN as BN in one process; weights initialised unless
    ``init_weights`` is False (e.g. a model built on the meta device, for its parameter names and shapes)."""
    from mmengine.registry import MODELS, init_default_scope

    from .cli import fall_back_from_sync_bn
    cfg = copy.deepcopy(cfg)  # the caller's config is left as it was
    if not pretrained:
        strip_pretrained(cfg.model)
    fall_back_from_sync_bn(cfg)
    if cfg.get('data_preprocessor') is not None:
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    init_default_scope(cfg.default_scope)
    for module in cfg.get('custom_imports', {}).get('imports', []):
        importlib.import_module(module)
    model = MODELS.build(cfg.model)
    if init_weights:
        model.init_weights()
    return model


def synthetic_batch(cfg: Config, size: int = 128, batch_size: int = 2) -> dict:
    """``batch_size`` random ``size`` x ``size`` images with the targets the config's task trains on (one box and
    mask per image, a random label map, or a class label), as a dataloader hands them to ``model.train_step``."""
    inputs = [torch.randint(0, 255, (3, size, size), dtype=torch.uint8) for _ in range(batch_size)]
    if cfg.default_scope == 'mmdet':
        head = cfg.model.get('roi_head', cfg.model).get('bbox_head', {})
        head = head[-1] if isinstance(head, (list, tuple)) else head  # Cascade R-CNN: one box head per stage
        return dict(inputs=inputs, data_samples=[_det_sample(size, head.get('num_classes', 80))
                                                 for _ in range(batch_size)])
    if cfg.default_scope == 'mmseg':
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample
        samples = []
        for _ in range(batch_size):
            s = SegDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size)))
            s.gt_sem_seg = PixelData(data=torch.randint(0, cfg.model.decode_head.num_classes, (1, size, size)))
            samples.append(s)
        return dict(inputs=inputs, data_samples=samples)
    from mmpretrain.structures import DataSample
    return dict(inputs=inputs, data_samples=[DataSample().set_gt_label(i % 2) for i in range(batch_size)])


def _det_sample(size: int, num_classes: int):
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData
    s = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size),
                                    batch_input_shape=(size, size), scale_factor=(1., 1.)))
    x0, y0, x1, y1 = (int(size * f) for f in (0.08, 0.15, 0.55, 0.7))
    mask = torch.zeros(1, size, size, dtype=torch.uint8)
    mask[:, y0:y1, x0:x1] = 1
    s.gt_instances = InstanceData(bboxes=torch.tensor([[float(x0), float(y0), float(x1), float(y1)]]),
                                  labels=torch.tensor([num_classes - 1]), masks=BitmapMasks(mask.numpy(), size, size))
    return s


# ---- the work dir a runner writes into -----------------------------------------------------------------------------

LOCK_NAME = '.vdense-train.lock'
_held_locks: dict = {}  # realpath of a lock file -> the open descriptor that holds its flock


class WorkDirBusyError(CheckpointError):
    """Another training writes into the same work dir (its checkpoints, ``last_checkpoint`` and best checkpoint would
    overwrite this run's); one line in the tools, like a bad checkpoint."""


def _lock_path(work_dir: str) -> str:
    return osp.realpath(osp.join(work_dir, LOCK_NAME))


def lock_work_dir(work_dir: str) -> None:
    """Claims ``work_dir`` for this process's training, or raises :class:`WorkDirBusyError` naming the process that
    holds it. An OS lock (``flock``) on ``<work_dir>/.vdense-train.lock``: the kernel drops it when its process ends
    however it ends, so a lock file left by a killed run is simply taken over. Re-entrant within a process; only
    the main process of a distributed run takes it."""
    import fcntl
    if int(os.environ.get('RANK', '0')) != 0:
        return
    os.makedirs(work_dir, exist_ok=True)
    path = _lock_path(work_dir)
    if path in _held_locks:
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 200).decode('utf-8', 'replace').strip() or 'another process'
        os.close(fd)
        raise WorkDirBusyError(f'{work_dir}: another training is running in this work dir ({safe_text(holder)}); '
                               'wait for it to end, or train into another --work-dir') from None
    except OSError as e:  # file systems without locks (some network mounts): train unguarded, as mmengine does
        os.close(fd)
        print_log(f'vdense: cannot lock {work_dir} ({e.strerror}); a second training there would not be refused',
                  logger='current', level=logging.WARNING)
        return
    os.ftruncate(fd, 0)
    os.write(fd, f'pid {os.getpid()} on {socket.gethostname()}, since {time.strftime("%Y-%m-%d %H:%M:%S")}\n'
             .encode())
    _held_locks[path] = fd


def release_work_dir(work_dir: str) -> None:
    fd = _held_locks.pop(_lock_path(work_dir), None)
    if fd is not None:
        os.close(fd)  # closing the descriptor releases the flock; the file stays (harmless, reused next time)


def locked_by_another(work_dir: str) -> bool:
    """Whether another process holds ``work_dir``'s training lock (a peek: nothing is claimed)."""
    import fcntl
    path = _lock_path(work_dir)
    if path in _held_locks or not osp.isfile(path):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


class GuardedWorkDirRunner:
    """Mixed into the config's runner class (before it) by the tools:

    - ``train()`` holds the work dir's lock (:func:`lock_work_dir`) from start to end: a second training in the same
      work dir stops with one line before it writes anything there;
    - the config dump never replaces a file the user owns: mmengine writes it to ``<work_dir>/<config file name>``,
      which *is* the config when ``--work-dir`` is the config's own folder; it then goes to the run's
      ``<work_dir>/<timestamp>/`` folder instead. While another process trains in the work dir, its dump is kept.
    """

    def train(self):
        lock_work_dir(self.work_dir)
        try:
            return super().train()
        finally:
            release_work_dir(self.work_dir)

    @master_only
    def dump_config(self) -> None:
        filename = self.cfg.filename
        if filename is not None:
            target = osp.join(self.work_dir, osp.basename(filename))
            if osp.exists(target) and osp.exists(filename) and osp.samefile(target, filename):
                aside = osp.join(self.log_dir, osp.basename(filename))
                self.cfg.dump(aside)
                print_log(f'vdense: the work dir holds the config itself ({filename}): its dump (with the '
                          f'--cfg-options applied) is {aside}', logger='current')
                return
        if locked_by_another(self.work_dir):
            return  # a training there owns the dump in the work dir
        super().dump_config()


def guarded_runner_class(base):
    """``base`` (mmengine's Runner or a ``runner_type``) with :class:`GuardedWorkDirRunner` mixed in."""
    if issubclass(base, GuardedWorkDirRunner):
        return base
    return type(base.__name__, (GuardedWorkDirRunner, base), {})
