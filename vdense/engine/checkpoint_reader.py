"""Reading checkpoint files as plain data, with one-line errors for every way a file can be wrong.

Every vdense entry point that reads a checkpoint (tools, ``init_cfg`` Pretrained loading, mmengine's ``load_from`` and
``--resume`` through :func:`install_checkpoint_reader`) goes through :func:`read_checkpoint`:

- ``torch.load(weights_only=True)`` only: a pickle that names anything beyond tensors, containers and the few
  mmengine globals allow-listed in :mod:`vdense.compat` is refused, never executed;
- config text stored in a checkpoint is never run: mmengine's resume runs ``meta['config']`` through
  ``Config.fromstring`` (a Python exec), so that entry is dropped on reading (it only fed a GPU-count warning);
- a file whose name carries a content hash (``NAME-<sha256[:8]>.pth``, as mmengine/mmdet publish them and vdense's
  converters write them) must have that hash.
"""
import hashlib
import os.path as osp
import pickle
import re
import zipfile
from typing import Any, Mapping, Optional

import torch

# ``NAME-<8 hex digits>.pth``: the suffix mmengine's publish_model, mmdet's model zoo and vdense's export use.
_HASH_IN_NAME = re.compile(r'-([0-9a-f]{8})\.(pth|pt|pyth|ckpt)$')
_CODE_FREE_NOTE = 'vdense loads checkpoints as plain data only and does not run code stored in them'


class CheckpointError(ValueError):
    """A checkpoint that cannot be used as it is; the message is one line, naming the file and what is wrong."""


def sha256_of(path: str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            h.update(block)
    return h.hexdigest()


def verify_name_hash(path: str) -> None:
    """Raises :class:`CheckpointError` when the file name's ``-<sha256[:8]>`` suffix does not match its content."""
    m = _HASH_IN_NAME.search(osp.basename(path))
    if m is None:
        return
    actual = sha256_of(path)[:8]
    if actual != m.group(1):
        raise CheckpointError(f'{path}: the name carries content hash {m.group(1)} but the file hashes to {actual}: '
                              'it was modified or damaged after it was published (download or copy it again; if '
                              'the suffix is not a hash, rename the file)')


def _describe_load_failure(path: str, error: BaseException) -> str:
    text = str(error)
    if isinstance(error, pickle.UnpicklingError) and 'Weights only load failed' in text:
        what = re.search(r'(?:GLOBAL|global:?) ([\w.]+)', text)
        named = f' ({what.group(1)})' if what else ''
        return (f'{path}: holds Python objects beyond tensors and plain containers{named}; {_CODE_FREE_NOTE}. '
                'Re-save the weights as a state dict (torch.save(model.state_dict(), ...)) from a trusted environment')
    if osp.getsize(path) == 0:
        return f'{path}: the file is empty'
    if isinstance(error, (EOFError, zipfile.BadZipFile)) or 'zip archive' in text or 'central directory' in text:
        return f'{path}: truncated or not a PyTorch checkpoint ({type(error).__name__}); download or copy it again'
    first_line = text.splitlines()[0][:120] if text else ''
    return f'{path}: not a readable PyTorch checkpoint ({type(error).__name__}: {first_line})'


def read_checkpoint(path: str, map_location: Any = 'cpu', mmap: bool = False) -> Mapping:
    """The checkpoint at ``path`` as plain data (a dict), or :class:`CheckpointError` with one line.

    ``mmap=True`` maps the tensors instead of reading them (cheap pre-checks of large files)."""
    path = osp.expanduser(str(path))
    if not osp.isfile(path):
        raise CheckpointError(f'{path}: no such checkpoint file')
    verify_name_hash(path)
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except RuntimeError as e:
        if mmap and 'mmap' in str(e):  # legacy (pre-zip) files cannot be mapped
            return read_checkpoint(path, map_location)
        raise CheckpointError(_describe_load_failure(path, e)) from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            zipfile.BadZipFile, UnicodeDecodeError, OverflowError, MemoryError) as e:
        raise CheckpointError(_describe_load_failure(path, e)) from None
    if not isinstance(checkpoint, Mapping):
        raise CheckpointError(f'{path}: holds a {type(checkpoint).__name__}, not a checkpoint dict (a state dict or '
                              "{'state_dict': ..., 'meta': ...})")
    meta = checkpoint.get('meta')
    if isinstance(meta, dict) and 'config' in meta:
        meta = dict(meta)
        meta.pop('config')  # mmengine's resume would exec it (Config.fromstring); only a GPU-count check used it
        checkpoint = dict(checkpoint, meta=meta)
    return checkpoint


def check_training_checkpoint(path: str) -> Mapping:
    """A checkpoint that ``--resume`` can continue from (weights, optimizer and the runner's state)."""
    checkpoint = read_checkpoint(path, mmap=True)
    missing = [k for k in ('state_dict', 'meta', 'message_hub') if k not in checkpoint]
    if missing or not isinstance(checkpoint.get('meta'), Mapping) or 'epoch' not in checkpoint['meta']:
        held = ', '.join(sorted(map(str, checkpoint))[:6])
        raise CheckpointError(f'{path}: not a training checkpoint that --resume can continue (it lacks '
                              f'{", ".join(missing) or "meta.epoch"}; it holds {held}); to start from its weights '
                              'instead, use --cfg-options load_from=' + path)
    return checkpoint


def _load_from_local(filename: str, map_location: Optional[Any] = None) -> Mapping:
    return read_checkpoint(filename, map_location=map_location)


def install_checkpoint_reader() -> None:
    """Makes mmengine read local checkpoint files through :func:`read_checkpoint` (``load_from``, ``--resume``,
    ``init_cfg``), with mmengine's documented ``CheckpointLoader.register_scheme``."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=_load_from_local, force=True)
    # mmengine names the backend in its log from the function name ('load_from_<backend>').
    _load_from_local.__name__ = 'load_from_local'


def ensure_not_overwriting(src: str, dst: str) -> None:
    """Conversion and export tools refuse to write onto the file they read."""
    if osp.realpath(src) == osp.realpath(dst) or (osp.exists(dst) and osp.samefile(src, dst)):
        raise CheckpointError(f'{dst}: is the input file; write the result to another name')


__all__ = ['CheckpointError', 'read_checkpoint', 'check_training_checkpoint', 'verify_name_hash',
           'install_checkpoint_reader', 'ensure_not_overwriting', 'sha256_of']

