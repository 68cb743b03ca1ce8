"""Reading checkpoint files as plain data, with one-line errors for every way a file can be wrong.

Every vdense entry point that reads a checkpoint (tools, ``init_cfg`` Pretrained loading, mmengine's ``load_from`` and
``--resume`` through :func:`install_checkpoint_reader`) goes through :func:`read_checkpoint`:

- ``torch.load(weights_only=True)`` only: a pickle that names anything beyond tensors, containers and the few
  mmengine globals allow-listed in :mod:`vdense.compat` is refused, never executed;
- config text stored in a checkpoint is never run: mmengine's resume runs ``meta['config']`` through
  ``Config.fromstring`` (a Python exec), so that entry is dropped on reading (it only fed a GPU-count warning);
- a file whose name carries a content hash (``NAME-<sha256[:8]>.pth``, as mmengine/mmdet publish them and vdense's
  converters write them; any case of the hex digits and of the extension) must have that hash;
- a zip whose entries declare far more data than the file holds (a zip bomb) is refused before anything is inflated;
- URLs and mmengine's model-zoo schemes are downloaded and read the same way (:mod:`.url_checkpoints`).

Names (paths, key names) that come from a file are printed through :func:`safe_text`: control characters such as
ANSI escapes are shown escaped, never sent to the terminal.
"""
import hashlib
import os.path as osp
import pickle
import re
import tarfile
import zipfile
from typing import Any, Mapping, Optional

import torch

# ``NAME-<8 hex digits>.pth``: the suffix mmengine's publish_model, mmdet's model zoo and vdense's export use
# (torch.hub's HASH_REGEX, whose hex is lower-case; ``-0123ABCD.PTH`` is checked too, not skipped).
HASH_IN_NAME = re.compile(r'-([0-9a-f]{8})\.(pth|pt|pyth|ckpt|safetensors)$', re.IGNORECASE)
# torch.save stores zip entries uncompressed, so their declared sizes add up to about the file's size. A crafted
# zip can declare deflated entries that inflate to GBs (torch reads a record by allocating its declared size).
MAX_INFLATION = 4
MAX_INFLATION_SLACK = 64 << 20
_CODE_FREE_NOTE = 'vdense loads checkpoints as plain data only and does not run code stored in them'


class CheckpointError(ValueError):
    """A checkpoint that cannot be used as it is; the message is one line, naming the file and what is wrong."""


def sha256_of(path: str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            h.update(block)
    return h.hexdigest()


def safe_text(text: Any, limit: int = 0) -> str:
    """``text`` with control characters (ANSI escapes, carriage returns, newlines...) escaped (``\\x1b``), so that
    a name read from a file cannot rewrite the terminal or forge extra lines; cut to ``limit`` characters if given."""
    text = str(text)
    if not text.isprintable():
        text = ''.join(c if c.isprintable() else c.encode('unicode_escape').decode('ascii') for c in text)
    return text[:limit] + '...' if limit and len(text) > limit else text


def verify_name_hash(path: str) -> None:
    """Raises :class:`CheckpointError` when the file name's ``-<sha256[:8]>`` suffix does not match its content."""
    m = HASH_IN_NAME.search(osp.basename(path))
    if m is None:
        return
    actual = sha256_of(path)[:8]
    if actual != m.group(1).lower():
        raise CheckpointError(f'{safe_text(path)}: the name carries content hash {m.group(1)} but the file hashes '
                              f'to {actual}: it was modified or damaged after it was published (download or copy it '
                              'again; if the suffix is not a hash, rename the file)')


def check_container(path: str) -> None:
    """Cheap checks of the file's container before ``torch.load``: it is a zip (``torch.save``'s format since torch
    1.6) whose entries do not inflate far beyond the file, or a legacy pickle/tar checkpoint; anything else is not a
    PyTorch checkpoint. Raises :class:`CheckpointError`."""
    size = osp.getsize(path)
    if size == 0:
        raise CheckpointError(f'{safe_text(path)}: the file is empty')
    with open(path, 'rb') as f:
        head = f.read(4)
    if head.startswith(b'PK'):
        try:
            with zipfile.ZipFile(path) as z:
                infos = z.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            return  # truncated archives are described by torch.load's own failure below
        declared = sum(i.file_size for i in infos)
        if declared > MAX_INFLATION * size + MAX_INFLATION_SLACK:
            raise CheckpointError(f'{safe_text(path)}: a {size / 2**20:.1f} MB file whose entries declare '
                                  f'{declared / 2**30:.2f} GB when unpacked (torch.save does not compress); refused '
                                  'before unpacking anything, as a zip bomb would be')
        return
    if head[:1] == b'\x80':  # pickle protocol >= 2: torch's legacy (pre-1.6) format
        return
    try:
        if tarfile.is_tarfile(path):  # torch's oldest format
            return
    except OSError:
        pass
    raise CheckpointError(f'{safe_text(path)}: not a PyTorch checkpoint (neither the zip archive torch.save writes '
                          f'nor a legacy pickle; it starts with {head!r}); check that the path names the weights file')


def _describe_load_failure(path: str, error: BaseException) -> str:
    text, name = safe_text(error), safe_text(path)
    if isinstance(error, pickle.UnpicklingError) and 'Unsupported operand' in text:
        return (f'{name}: not a PyTorch checkpoint (a damaged pickle or not one torch.save writes); download or copy '
                'it again')
    if isinstance(error, pickle.UnpicklingError) and 'Weights only load failed' in text:
        what = re.search(r'(?:GLOBAL|global:?) ([\w.]+)', text)
        named = f' ({what.group(1)})' if what else ''
        return (f'{name}: holds Python objects beyond tensors and plain containers{named}; {_CODE_FREE_NOTE}. '
                'Re-save the weights as a state dict (torch.save(model.state_dict(), ...)) from a trusted environment')
    if osp.getsize(path) == 0:
        return f'{name}: the file is empty'
    if isinstance(error, (EOFError, zipfile.BadZipFile)) or 'zip archive' in text or 'central directory' in text:
        return f'{name}: truncated or not a PyTorch checkpoint ({type(error).__name__}); download or copy it again'
    first_line = safe_text(str(error).splitlines()[0], limit=120) if str(error) else ''
    return f'{name}: not a readable PyTorch checkpoint ({type(error).__name__}: {first_line})'


def read_checkpoint(path: str, map_location: Any = 'cpu', mmap: bool = False) -> Mapping:
    """The checkpoint at ``path`` as plain data (a dict), or :class:`CheckpointError` with one line.

    ``mmap=True`` maps the tensors instead of reading them (cheap pre-checks of large files). A URL or one of
    mmengine's schemes (``open-mmlab://...``) is downloaded to torch hub's cache first and read the same way."""
    path = str(path)
    if '://' in path:
        from .url_checkpoints import read_remote_checkpoint
        return read_remote_checkpoint(path, map_location)
    path = osp.expanduser(path)
    if not osp.isfile(path):
        raise CheckpointError(f'{safe_text(path)}: no such checkpoint file')
    verify_name_hash(path)
    from .safetensors_io import is_safetensors, read_safetensors
    if is_safetensors(path):  # tensors and a string header, no pickle: read by the safetensors library
        return read_safetensors(path, map_location)
    check_container(path)
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
        raise CheckpointError(f'{safe_text(path)}: holds a {type(checkpoint).__name__}, not a checkpoint dict (a '
                              "state dict or {'state_dict': ..., 'meta': ...})")
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
        held = safe_text(', '.join(sorted(map(str, checkpoint))[:6]), limit=200)
        raise CheckpointError(f'{safe_text(path)}: not a training checkpoint that --resume can continue (it lacks '
                              f'{", ".join(missing) or "meta.epoch"}; it holds {held}); to start from its weights '
                              'instead, use --cfg-options load_from=' + safe_text(path))
    return checkpoint


def _load_from_local(filename: str, map_location: Optional[Any] = None) -> Mapping:
    return read_checkpoint(filename, map_location=map_location)


def install_checkpoint_reader() -> None:
    """Makes mmengine read every checkpoint, local or named by a URL/scheme, through :func:`read_checkpoint`
    (``load_from``, ``--resume``, any module's ``init_cfg``), with mmengine's ``CheckpointLoader.register_scheme``."""
    from mmengine.runner.checkpoint import CheckpointLoader

    from .url_checkpoints import install_url_readers
    CheckpointLoader.register_scheme(prefixes='', loader=_load_from_local, force=True)
    # mmengine names the backend in its log from the function name ('load_from_<backend>').
    _load_from_local.__name__ = 'load_from_local'
    install_url_readers()  # http(s)://, torchvision://, open-mmlab://, mmcls://, pavi://, s3://: the same reader


def ensure_not_overwriting(src: str, dst: str) -> None:
    """Conversion and export tools refuse to write onto the file they read."""
    if osp.realpath(src) == osp.realpath(dst) or (osp.exists(dst) and osp.samefile(src, dst)):
        raise CheckpointError(f'{safe_text(dst)}: is the input file; write the result to another name')


__all__ = ['CheckpointError', 'read_checkpoint', 'check_training_checkpoint', 'verify_name_hash',
           'install_checkpoint_reader', 'ensure_not_overwriting', 'sha256_of', 'safe_text', 'check_container',
           'HASH_IN_NAME']

