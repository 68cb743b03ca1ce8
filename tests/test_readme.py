"""The README and docs/ as a newcomer uses them: links that lead somewhere, a model zoo that matches the counts,
a Python example that runs."""
import importlib.util
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PAGES = [osp.join(ROOT, 'README.md')] + sorted(
    osp.join(ROOT, 'docs', f) for f in os.listdir(osp.join(ROOT, 'docs')) if f.endswith('.md'))
LINK = re.compile(r'\]\(([^)\s]+)\)')


def _anchors(page: str) -> set:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as dashes."""
    with open(page) as f:
        headings = [line.lstrip('#').strip() for line in f if line.startswith('#')]
    return {re.sub(r'[^\w\- ]', '', h.lower()).replace(' ', '-') for h in headings}


def test_links_lead_somewhere():
    broken = []
    for page in PAGES:
        text = open(page).read()
        assert 'BACKBONES.md' not in text, f'{page} names BACKBONES.md, which is not part of the project'
        for target in LINK.findall(text):
            if target.startswith(('http://', 'https://')):
                continue
            path, _, anchor = target.partition('#')
            full = osp.normpath(osp.join(osp.dirname(page), path)) if path else page
            if not osp.exists(full):
                broken.append(f'{osp.relpath(page, ROOT)}: {target} (no such file)')
            elif anchor and full.endswith('.md') and anchor not in _anchors(full):
                broken.append(f'{osp.relpath(page, ROOT)}: {target} (no such section)')
    assert not broken, '\n'.join(broken)


def test_readme_is_short():
    with open(osp.join(ROOT, 'README.md')) as f:
        assert len(f.readlines()) <= 150, 'reference material belongs in docs/, linked from the README'


def _gen_model_zoo():
    spec = importlib.util.spec_from_file_location('gen_model_zoo', osp.join(ROOT, 'tools', 'gen_model_zoo.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_model_zoo_rows_match_the_counts(tmp_path, capsys):
    """Two rows recounted (small models: seconds), a row for every config, and a wrong number is seen."""
    zoo = _gen_model_zoo()
    rows = [osp.join(ROOT, 'configs', c) for c in ('imagenet_swin_t.py', 'imagenet_scalablevit_s.py')]
    page = osp.join(ROOT, 'docs', 'model_zoo.md')
    assert zoo.check(rows, page) == 0, capsys.readouterr().out
    text = open(page).read()
    row = next(line for line in text.split('\n') if line.startswith('| `imagenet_swin_t.py`'))
    cells = row.split(' | ')
    cells[3] = '9.9'  # GFLOPs
    wrong = tmp_path / 'model_zoo.md'
    wrong.write_text(text.replace(row, ' | '.join(cells)))
    capsys.readouterr()
    assert zoo.check(rows[:1], str(wrong)) == 1  # the row made wrong, recounted alone
    assert 'imagenet_swin_t.py: GFLOPs is 4.5, ' in capsys.readouterr().out


def _python_example() -> str:
    text = open(osp.join(ROOT, 'README.md')).read()
    section = text.split('\n## Python\n', 1)[1]
    return re.search(r'```python\n(.*?)```', section, re.S).group(1)


@pytest.mark.trains_demo('retinanet')
def test_readme_python_example_runs(trained_demos, demo_root, tmp_path):
    """The README's example, verbatim, where `make demo` would have left its files."""
    demo = trained_demos.get('retinanet')
    os.symlink(osp.join(ROOT, 'configs'), tmp_path / 'configs')
    (tmp_path / 'work_dirs').mkdir()
    os.symlink(demo.work_dir, tmp_path / 'work_dirs' / 'demo_retinanet_scalablevit')
    (tmp_path / 'data').mkdir()
    os.symlink(demo_root, tmp_path / 'data' / 'demo')
    proc = subprocess.run([sys.executable, '-c', _python_example()], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600, env=dict(os.environ, PYTHONPATH=ROOT, PYTHONWARNINGS='ignore'))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    found = re.findall(r'^\w+ \d+% \[\d+, \d+, \d+, \d+\]$', proc.stdout, re.M)  # "circle 87% [x1, y1, x2, y2]"
    assert found, proc.stdout
    assert (tmp_path / 'drawn.png').stat().st_size > 0
