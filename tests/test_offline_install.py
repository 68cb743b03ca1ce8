"""Offline install (docs/install.md, "Offline install (no network)"): `make wheels` fills a folder,
`make install-offline` installs from it with the network blocked into a fresh venv that has torch + torchvision
but no OpenMMLab package.

torch is not pip-installed into the venv (GBs): a .pth file in the venv points at a folder of symlinks to this
interpreter's torch, torchvision and their runtime dependencies (packages and dist-info folders, so pip sees them
installed), and to nothing else, so the global mmcv/mmdet stay hidden."""
import importlib.metadata as md
import os
import os.path as osp
import re
import subprocess
import sys

from packaging.requirements import Requirement

from tests.conftest import ROOT

DEAD = 'http://127.0.0.1:9'  # the discard port: nothing answers


def _torch_closure():
    """torch, torchvision and what they need at run time (markers for this interpreter), as installed here."""
    seen, todo = {}, [('torch', ()), ('torchvision', ())]
    while todo:
        name, extras = todo.pop()
        key = re.sub(r'[-_.]+', '-', name).lower()
        if key in seen and not extras:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            seen.setdefault(key, None)
            continue
        seen[key] = dist
        for line in dist.requires or []:
            req = Requirement(line)
            if not req.marker or any(req.marker.evaluate({'extra': e}) for e in ('',) + tuple(extras)):
                todo.append((req.name, tuple(req.extras)))
    return [d for d in seen.values() if d is not None]


def _link_torch(folder):
    os.makedirs(folder)
    for dist in _torch_closure():
        site = osp.realpath(dist.locate_file(''))
        for top in {f.parts[0] for f in dist.files or []}:
            if top in ('..', '__pycache__') or top.endswith('.pth'):
                continue
            dst = osp.join(folder, top)
            if not osp.lexists(dst) and osp.exists(osp.join(site, top)):
                os.symlink(osp.join(site, top), dst)


def _run(cmd, env, cwd=ROOT):
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.returncode == 0, f'{cmd} failed:\n{proc.stdout[-6000:]}'
    return proc.stdout


def test_offline_install_into_fresh_venv(tmp_path):
    import torch
    import torchvision

    wheels = tmp_path / 'wheels'
    _run(['make', 'wheels', f'WHEELS={wheels}', f'PYTHON={sys.executable}'], dict(os.environ))
    names = os.listdir(wheels)
    assert 'vdense-offline.txt' in names and any(n.startswith('mmcv-2.1.0-') for n in names)
    assert not [n for n in names if re.match(r'(torch|torchvision|triton|nvidia)[-_]', n)], names

    venv = tmp_path / 'venv'
    _run([sys.executable, '-m', 'venv', str(venv)], dict(os.environ))
    py = str(venv / 'bin' / 'python')
    site = subprocess.check_output([py, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                                   text=True).strip()
    _link_torch(str(tmp_path / 'torch_site'))
    with open(osp.join(site, 'host_torch.pth'), 'w') as f:
        f.write(str(tmp_path / 'torch_site') + '\n')

    # No network: no index, a dead index and proxy, no pip config (this machine's find-links hold a torch wheel).
    env = {k: v for k, v in os.environ.items()
           if not k.startswith('PIP_') and k.lower() not in ('http_proxy', 'https_proxy', 'all_proxy', 'no_proxy')
           and k not in ('PYTHONPATH', 'VIRTUAL_ENV')}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX='1', PIP_INDEX_URL=DEAD + '/simple', PIP_EXTRA_INDEX_URL='',
               PIP_FIND_LINKS='', http_proxy=DEAD, https_proxy=DEAD, HTTP_PROXY=DEAD, HTTPS_PROXY=DEAD,
               PYTHONNOUSERSITE='1', VIRTUAL_ENV=str(venv), PATH=f'{venv}/bin:{os.environ["PATH"]}')
    probe = subprocess.run([py, '-c', 'import mmcv'], cwd=tmp_path, env=env, capture_output=True)
    assert probe.returncode != 0, 'the fresh venv must not see the global OpenMMLab packages'

    out = _run(['make', 'install-offline', f'WHEELS={wheels}', f'PYTHON={py}'], env)
    assert 'ready in' in out, out

    check = _run([py, '-c', (
        'import torch, torchvision, vdense.models, mmdet.models, mmseg.models, mmpretrain.models, os\n'
        'from mmcv.ops import nms, RoIAlign\n'
        'import mmcv, pycocotools.mask\n'
        'print(torch.__version__, torchvision.__version__, mmcv.__version__)\n'
        'print(os.path.realpath(torch.__file__))\n'
        'print(os.path.realpath(vdense.__file__))')], env, cwd=tmp_path).strip().splitlines()
    assert check[-3] == f'{torch.__version__} {torchvision.__version__} 2.1.0', check
    assert check[-2] == osp.realpath(torch.__file__), 'torch must be the host one, not reinstalled'
    assert check[-1] == osp.realpath(osp.join(ROOT, 'vdense', '__init__.py')), 'vdense: the clone, editable'
    assert not [n for n in os.listdir(site) if re.match(r'(torch|torchvision)-', n)], 'torch installed into the venv'
