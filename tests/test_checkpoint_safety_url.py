"""Checkpoints named by a URL (or by any scheme mmengine maps to one) are read as data, with the name's hash checked,
freshly downloaded or cached; and the reader's smaller guards (zip bomb, hash-name case, garbage, control characters).

No network: the files are served by an ``http.server`` on 127.0.0.1 started by the test, and ``TORCH_HOME`` (the
download cache) is a temporary folder.
"""
import functools
import hashlib
import http.server
import os
import threading
import zipfile

import pytest
import torch
import torch.nn as nn

from tests.helpers import DEMO_CONFIG
from tests.test_checkpoint_safety import assert_one_line_error, run_in_process


class RunsCode:
    """Unpickling this calls ``exec``: what a hostile checkpoint does (os.system would do the same)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f'open({self.marker!r}, "w").write("ran")',)


@pytest.fixture
def served(tmp_path, monkeypatch):
    """(folder served over http, its base URL); the download cache is a fresh $TORCH_HOME."""
    root = tmp_path / 'served'
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    yield root, f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()
    server.server_close()


def cache_of(tmp_path):
    return tmp_path / 'torch_home' / 'hub' / 'checkpoints'


def hashed_name(path, stem='weights', ext='pth', upper=False):
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    return f'{stem}-{digest.upper() if upper else digest}.{ext}'


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)


def any_module(checkpoint):
    """A module of no vdense class (an mmengine BaseModule, as any head or neck): mmengine's PretrainedInit."""
    from mmengine.model import BaseModule

    class Module(BaseModule):
        def __init__(self):
            super().__init__(init_cfg=dict(type='Pretrained', checkpoint=checkpoint))
            self.fc = nn.Linear(4, 2)

    return Module()


# ---- URLs and every scheme mmengine maps to one: no code runs ----------------------------------------------------

def _scheme_urls(url, monkeypatch):
    """The file at ``url`` under each of mmengine's URL schemes (their model lists point at it)."""
    import mmengine.runner.checkpoint as mmckpt
    monkeypatch.setattr(mmckpt, 'get_torchvision_models', lambda: {'evil': url})
    monkeypatch.setattr(mmckpt, 'get_external_models', lambda: {'evil': url})
    monkeypatch.setattr(mmckpt, 'get_mmcls_models', lambda: {'evil': url})
    return {'http': url, 'torchvision': 'torchvision://evil', 'modelzoo': 'modelzoo://evil',
            'open-mmlab': 'open-mmlab://evil', 'openmmlab': 'openmmlab://evil', 'mmcls': 'mmcls://evil'}


@pytest.mark.parametrize('scheme', ['http', 'torchvision', 'modelzoo', 'open-mmlab', 'openmmlab', 'mmcls'])
def test_code_in_a_downloaded_checkpoint_never_runs(scheme, served, tmp_path, monkeypatch):
    import vdense  # noqa: F401  (installs the readers)
    from vdense.engine import CheckpointError
    root, base = served
    marker = tmp_path / 'ran.txt'
    torch.save({'state_dict': Head().state_dict(), 'meta': {'note': RunsCode(marker)}}, root / 'evil.pth')
    checkpoint = _scheme_urls(f'{base}/evil.pth', monkeypatch)[scheme]
    for attempt in ('downloaded', 'cached'):
        with pytest.raises(CheckpointError, match='does not run code'):
            any_module(checkpoint).init_weights()
        assert not marker.exists(), f'{scheme} ({attempt}): code in the checkpoint ran'
    assert (cache_of(tmp_path) / 'evil.pth').is_file()  # downloaded to torch hub's cache, as mmengine would


def test_every_registered_scheme_is_read_by_vdense():
    from mmengine.runner.checkpoint import CheckpointLoader

    import vdense  # noqa: F401
    foreign = {p: f'{f.__module__}.{f.__name__}' for p, f in CheckpointLoader._schemes.items()
               if not f.__module__.startswith('vdense.')}
    assert not foreign, f'schemes still read by the stack itself: {foreign}'


def test_load_from_url_with_code_is_one_line(served, tmp_path, capsys):
    root, base = served
    marker = tmp_path / 'ran.txt'
    torch.save({'state_dict': Head().state_dict(), 'meta': {'note': RunsCode(marker)}}, root / 'evil.pth')
    code, _, err = run_in_process(capsys, 'train', DEMO_CONFIG, '--work-dir', tmp_path / 'w', '--cfg-options',
                                  f'load_from={base}/evil.pth')
    assert not marker.exists()
    assert_one_line_error(code, err, 'evil.pth', 'does not run code')


# ---- the name's hash: checked on download and on every read of the cached copy ----------------------------------

def test_hash_in_a_url_name_is_checked_downloaded_and_cached(served, tmp_path):
    from mmengine.runner.checkpoint import CheckpointLoader

    from vdense.engine import CheckpointError
    root, base = served
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': Head().state_dict()}, good)
    name = hashed_name(good)
    (root / name).write_bytes(good.read_bytes())
    assert 'state_dict' in CheckpointLoader.load_checkpoint(f'{base}/{name}', map_location='cpu')
    cached = cache_of(tmp_path) / name
    data = bytearray(cached.read_bytes())
    data[-100] ^= 0xFF  # the cached copy damaged (or replaced) after the download
    cached.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match='carries content hash'):
        CheckpointLoader.load_checkpoint(f'{base}/{name}', map_location='cpu')
    # A server file whose content does not match its name is refused and not kept in the cache.
    wrong = name.replace(name[-12:-4], '0badcafe')
    (root / wrong).write_bytes(good.read_bytes())
    with pytest.raises(CheckpointError, match='content hash 0badcafe'):
        CheckpointLoader.load_checkpoint(f'{base}/{wrong}', map_location='cpu')
    assert sorted(p.name for p in cache_of(tmp_path).iterdir()) == [name]  # no partial or wrong file left


def test_download_failure_is_one_line(served, tmp_path):
    from vdense.engine import CheckpointError, read_checkpoint
    _, base = served
    with pytest.raises(CheckpointError, match='download failed .*404'):
        read_checkpoint(f'{base}/missing.pth')


@pytest.mark.parametrize('name', ['weights-0123ABCD.pth', 'weights-0123abcd.PTH', 'weights-0123AbCd.Pth'])
def test_hash_names_in_any_case_are_checked(name, tmp_path):
    from vdense.engine import CheckpointError, read_checkpoint
    torch.save({'state_dict': Head().state_dict()}, tmp_path / name)
    with pytest.raises(CheckpointError, match='carries content hash'):
        read_checkpoint(tmp_path / name)
    right = tmp_path / hashed_name(tmp_path / name, upper=True, ext='PTH')
    os.rename(tmp_path / name, right)
    assert 'state_dict' in read_checkpoint(right)


# ---- zip bomb, garbage, control characters -----------------------------------------------------------------------

def zip_bomb(path, inflated=256 << 20):
    """A real torch.save zip plus one deflated entry of zeros: a few MB that declare ``inflated`` bytes."""
    torch.save({'state_dict': Head().state_dict()}, path.with_suffix('.src'))
    with zipfile.ZipFile(path.with_suffix('.src')) as src, \
            zipfile.ZipFile(path, 'w', compression=zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
        prefix = src.infolist()[0].filename.split('/')[0]
        with dst.open(f'{prefix}/data/zeros', 'w', force_zip64=True) as f:
            chunk = bytes(1 << 24)
            for _ in range(inflated // len(chunk)):
                f.write(chunk)
    return path


def test_zip_bomb_is_refused_before_unpacking(tmp_path, capsys):
    import time
    bomb = zip_bomb(tmp_path / 'bomb.pth')
    assert bomb.stat().st_size < 8 << 20
    start = time.perf_counter()
    code, _, err = run_in_process(capsys, 'convert_checkpoint', bomb, tmp_path / 'out.pth')
    assert_one_line_error(code, err, 'bomb.pth', 'GB when unpacked')
    assert time.perf_counter() - start < 5


def test_garbage_is_not_a_pytorch_checkpoint(tmp_path):
    from vdense.engine import CheckpointError, read_checkpoint
    for i, data in enumerate([os.urandom(4096), b'\x80\x02' + os.urandom(4096), b'<html>not found</html>']):
        (tmp_path / f'{i}.pth').write_bytes(data.replace(b'\x80', b'\x81', 1) if i == 0 else data)
        with pytest.raises(CheckpointError, match='not a PyTorch checkpoint') as e:
            read_checkpoint(tmp_path / f'{i}.pth')
        assert 'Python objects' not in str(e.value)


def test_control_characters_in_names_are_escaped(tmp_path):
    from vdense.engine import CheckpointError, check_training_checkpoint
    path = tmp_path / 'keys.pth'
    torch.save({'\x1b[2J\x1b[31mstate\rdict': torch.zeros(1)}, path)
    with pytest.raises(CheckpointError) as e:
        check_training_checkpoint(str(path))
    assert '\x1b' not in str(e.value) and '\r' not in str(e.value) and '\\x1b[2J' in str(e.value)
    from vdense.engine.checkpoint_reader import safe_text
    assert safe_text('ok name é') == 'ok name é'
