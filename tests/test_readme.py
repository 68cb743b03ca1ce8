"""The README and docs/ as a newcomer uses them: links that lead somewhere, a model zoo that matches the counts,
a Python example that runs."""
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


def test_model_zoo_rows_match_the_counts():
    """A few rows recounted (the smallest models: seconds), and a row for every config."""
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'gen_model_zoo.py'), '--check',
                           osp.join(ROOT, 'configs', 'imagenet_swin_t.py'),
                           osp.join(ROOT, 'configs', 'imagenet_mvitv2_t.py')],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]


def test_model_zoo_check_sees_a_wrong_row(tmp_path):
    page = tmp_path / 'model_zoo.md'
    text = open(osp.join(ROOT, 'docs', 'model_zoo.md')).read()
    row = next(line for line in text.split('\n') if line.startswith('| `imagenet_swin_t.py`'))
    cells = row.split(' | ')
    cells[3] = '9.9'  # GFLOPs
    page.write_text(text.replace(row, ' | '.join(cells)))
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'gen_model_zoo.py'), '--page', str(page),
                           '--check', osp.join(ROOT, 'configs', 'imagenet_swin_t.py')],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1 and 'imagenet_swin_t.py: GFLOPs is 4.5' in proc.stdout, proc.stdout + proc.stderr


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
    lines = [line.split() for line in proc.stdout.strip().split('\n') if line.strip()]
    assert lines and all(line[1].endswith('%') for line in lines), proc.stdout  # "circle 87% [x1, y1, x2, y2]"
    assert (tmp_path / 'drawn.png').stat().st_size > 0
