"""Checkpoints named by a URL or by one of mmengine's model-zoo schemes, read with the same data-only reader.

mmengine 0.10.7 reads ``http(s)://`` (and ``torchvision://``, ``modelzoo://``, ``open-mmlab://``, ``openmmlab://``,
``mmcls://``, which resolve to URLs) through torch's ``load_state_dict_from_url``, i.e. ``torch.load`` with
``weights_only=False``: a pickle in a downloaded file runs, and the cached copy is re-read the same way without its
name's hash being checked. ``pavi://``, ``s3://`` and ``petrel://`` call ``torch.load`` themselves. Here every one of
them is registered again (``CheckpointLoader.register_scheme(..., force=True)``, on ``import vdense``) so that:

- URLs are downloaded into torch hub's cache (``$TORCH_HOME/hub/checkpoints``, as torch and mmengine do) by
  ``torch.hub.download_url_to_file``, which writes a ``.partial`` file and renames it when complete; a name that
  carries a hash (``NAME-<sha256[:8]>.pth``) must match it before the file takes its name;
- the file, freshly downloaded or cached, is read by :func:`~vdense.engine.checkpoint_reader.read_checkpoint`
  (``weights_only=True``, the name's hash checked every time, zip-bomb bound);
- a failed download or an unknown model name is one line (:class:`CheckpointError`).
"""
import os
import os.path as osp
import re
import tempfile
from typing import Any, Mapping, Optional
from urllib.error import HTTPError, URLError
from urllib.parse import urlparse

from .checkpoint_reader import HASH_IN_NAME, CheckpointError, read_checkpoint, safe_text

URL_PREFIXES = ('http://', 'https://')


def cache_dir() -> str:
    """Where downloaded checkpoints are kept: torch hub's ``checkpoints`` folder (``$TORCH_HOME/hub/checkpoints``)."""
    import torch.hub
    return osp.join(torch.hub.get_dir(), 'checkpoints')


def download_checkpoint(url: str, model_dir: Optional[str] = None, progress: Optional[bool] = None) -> str:
    """The local copy of ``url`` in the cache, downloaded first if it is not there (a cached file is not
    downloaded again, but it is checked every time it is read)."""
    import torch.hub
    model_dir = model_dir or cache_dir()
    name = osp.basename(urlparse(url).path)
    if not name or name in ('.', '..'):
        raise CheckpointError(f'{safe_text(url)}: the URL names no file to download')
    path = osp.join(model_dir, name)
    if osp.isfile(path):
        return path
    try:
        os.makedirs(model_dir, exist_ok=True)
    except OSError as e:
        raise CheckpointError(f'{safe_text(url)}: cannot create the download folder {model_dir}: {e.strerror}; set '
                              'TORCH_HOME to a writable folder') from None
    match = HASH_IN_NAME.search(name)
    try:
        torch.hub.download_url_to_file(url, path, hash_prefix=match.group(1).lower() if match else None,
                                       progress=os.isatty(0) if progress is None else progress)
    except RuntimeError as e:
        if 'invalid hash value' in str(e):
            raise CheckpointError(f'{safe_text(url)}: the name carries content hash {match.group(1)} but the '
                                  'downloaded file does not have it (it was not kept); the server holds another file '
                                  'under this name') from None
        raise CheckpointError(f'{safe_text(url)}: download failed ({type(e).__name__}: {safe_text(e)})') from None
    except (URLError, OSError, ValueError) as e:
        reason = getattr(e, 'reason', None) or getattr(e, 'strerror', None) or e
        if isinstance(e, HTTPError):
            reason = f'HTTP {e.code} {reason}'
        raise CheckpointError(f'{safe_text(url)}: download failed ({type(e).__name__}: {safe_text(reason)}); '
                              f'check the URL and the network, or download it yourself to {path}') from None
    return path


def load_from_http(filename: str, map_location: Any = None, model_dir: Optional[str] = None) -> Mapping:
    """mmengine's ``http(s)://`` loader, downloading with vdense's checks and reading as data. As mmengine's, rank 0
    downloads first and the other ranks read its copy."""
    from mmengine.dist import barrier, get_dist_info
    rank, world_size = get_dist_info()
    if rank == 0:
        path = download_checkpoint(filename, model_dir)
    if world_size > 1:
        barrier()
        if rank > 0:
            path = download_checkpoint(filename, model_dir)
    return read_checkpoint(path, map_location=map_location)


def _named(models: Mapping[str, str], name: str, scheme: str) -> str:
    if name not in models:
        raise CheckpointError(f'{scheme}{safe_text(name)}: unknown model name for {scheme} (mmengine knows '
                              f'{len(models)} names, e.g. {", ".join(sorted(models)[:3])})')
    return models[name]


def load_from_torchvision(filename: str, map_location: Any = None) -> Mapping:
    from mmengine.runner.checkpoint import get_torchvision_models
    scheme = 'modelzoo://' if filename.startswith('modelzoo://') else 'torchvision://'
    return load_from_http(_named(get_torchvision_models(), filename[len(scheme):], scheme), map_location)


def load_from_openmmlab(filename: str, map_location: Any = None) -> Mapping:
    from mmengine.runner.checkpoint import _get_mmengine_home, get_deprecated_model_names, get_external_models
    scheme = 'open-mmlab://' if filename.startswith('open-mmlab://') else 'openmmlab://'
    name = filename[len(scheme):]
    name = get_deprecated_model_names().get(name, name)
    url = _named(get_external_models(), name, scheme)
    if url.startswith(URL_PREFIXES):
        return load_from_http(url, map_location)
    return read_checkpoint(osp.join(_get_mmengine_home(), url), map_location=map_location)


def load_from_mmcls(filename: str, map_location: Any = None) -> Mapping:
    from mmengine.runner.checkpoint import _process_mmcls_checkpoint, get_mmcls_models
    url = _named(get_mmcls_models(), filename[len('mmcls://'):], 'mmcls://')
    return _process_mmcls_checkpoint(dict(load_from_http(url, map_location)))


def load_from_pavi(filename: str, map_location: Any = None) -> Mapping:
    try:
        from pavi import modelcloud
    except ImportError:
        raise CheckpointError(f'{safe_text(filename)}: pavi:// needs the pavi package (pip install pavi)') from None
    model = modelcloud.get(filename[len('pavi://'):])
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, osp.basename(model.name))
        model.download(path)
        return read_checkpoint(path, map_location=map_location)


def load_from_ceph(filename: str, map_location: Any = None, backend: str = 'petrel') -> Mapping:
    from mmengine.fileio import get_file_backend
    data = get_file_backend(filename, backend_args={'backend': backend}).get(filename)
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, osp.basename(filename.rstrip('/')) or 'checkpoint.pth')  # the name keeps its hash
        with open(path, 'wb') as f:
            f.write(data)
        return read_checkpoint(path, map_location=map_location)


# mmengine's prefixes, each with the loader that replaces its own (the names feed mmengine's "Loads checkpoint by
# <backend> backend" log line: 'load_from_<backend>').
SCHEMES = {('http://', 'https://'): load_from_http, ('modelzoo://', 'torchvision://'): load_from_torchvision,
           ('open-mmlab://', 'openmmlab://'): load_from_openmmlab, ('mmcls://',): load_from_mmcls,
           ('pavi://',): load_from_pavi, (r'(\S+\:)?s3://', r'(\S+\:)?petrel://'): load_from_ceph}


def read_remote_checkpoint(filename: str, map_location: Any = None) -> Mapping:
    """The checkpoint named by a URL or scheme, through the loader registered for it here."""
    for prefixes, loader in SCHEMES.items():
        if any(re.match(p, filename) for p in prefixes):
            return loader(filename, map_location)
    raise CheckpointError(f'{safe_text(filename)}: unknown scheme (vdense reads local files, '
                          f'{", ".join(p for ps in SCHEMES for p in ps if p.endswith("//"))})')


def install_url_readers() -> None:
    from mmengine.runner.checkpoint import CheckpointLoader
    for prefixes, loader in SCHEMES.items():
        CheckpointLoader.register_scheme(prefixes=list(prefixes), loader=loader, force=True)


__all__ = ['cache_dir', 'download_checkpoint', 'install_url_readers', 'read_remote_checkpoint', 'SCHEMES']
