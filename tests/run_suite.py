#!/usr/bin/env python
"""`make test`: the suite as two pytest processes side by side, so that both cores stay busy.

    python tests/run_suite.py tests -m "not slow"        # what `make test` runs
    python tests/run_suite.py tests/test_ops.py -q       # a few files: one plain pytest

Most tests are single-threaded Python (imports, tool subprocesses, COCO evaluation). One pytest process trains the
demos in the background (tests/conftest.py) and runs the tests that need them; once the demos are trained it would
leave the second core idle for the rest of the suite. So the files in SECOND_PROCESS (about half of the unit tests'
time, none needing a trained demo) run in a second pytest process at the same time; its output is written to a log
and printed after the first process's, and the run fails if either fails. Any path but the whole ``tests`` folder
runs as one ordinary pytest.
"""
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TESTS = osp.join(ROOT, 'tests')
# Measured wall time per file on 2 cores (seconds, 2026-12-06): these add up to about the same as the first
# process's unit tests (test_configs ~250, test_checkpoint_safety ~250, test_analysis ~60, test_cli, test_readme and
# the tests waiting for the demos). None of them needs the generated demo data (tests/conftest.py's `demo_root`,
# made once by the first process).
SECOND_PROCESS = (
    'test_infer.py', 'test_resume_and_data.py', 'test_export_onnx.py', 'test_offline_install.py',
    'test_checkpoint_tools.py', 'test_safetensors.py', 'test_distributed.py',
    'test_memory.py', 'test_coverage.py', 'test_legacy_layout.py', 'test_ops.py', 'test_mvit.py', 'test_swin.py',
    'test_scalable_vit.py', 'test_tools.py', 'test_visualization.py', 'test_checkpoint_safety_url.py',
    'test_deploy_report.py', 'test_mm_integration.py', 'test_layers.py', 'test_demo_data.py',
    'test_detectors_on_device.py', 'test_cuda.py',
)


def split(paths):
    """(first process's paths, second process's paths); None when ``paths`` is not the whole tests folder."""
    if [osp.abspath(p) for p in paths] != [TESTS]:
        return None
    files = sorted(f for f in os.listdir(TESTS) if f.startswith('test_') and f.endswith('.py'))
    second = [osp.join('tests', f) for f in files if f in SECOND_PROCESS]
    first = [osp.join('tests', f) for f in files if f not in SECOND_PROCESS]
    return first, second


def main(argv):
    paths = [a for a in argv if not a.startswith('-') and osp.exists(a)]
    options = [a for a in argv if a not in paths]
    shards = split(paths)
    pytest = [sys.executable, '-m', 'pytest']
    if shards is None:
        return subprocess.call(pytest + argv, cwd=ROOT)
    first, second = shards
    start = time.time()
    # One intra-op thread in both processes (and the tools they start): with the two processes and the demo
    # trainings, every core is taken anyway, and a second OpenMP thread then only spins while it waits for a core.
    # Measured on 2 busy cores (test_configs' ScalableViT steps): 2 threads 54 CPU-s in 65 s, 1 thread 28 in 45 s.
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1'),
               MKL_NUM_THREADS=os.environ.get('MKL_NUM_THREADS', '1'))
    with tempfile.TemporaryDirectory(prefix='vdense-tests-') as tmp:
        log_path = osp.join(tmp, 'second.log')
        with open(log_path, 'w') as log:
            # its own temporary folder: pytest's numbered folders are not meant for two sessions at once
            background = subprocess.Popen(pytest + second + options + ['--basetemp', osp.join(tmp, 'basetemp')],
                                          cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
            print(f'[run_suite] {len(second)} test files in a second pytest process (log printed at the end): '
                  f'{" ".join(osp.basename(f) for f in second)}', flush=True)
            try:
                first_rc = subprocess.call(pytest + first + options, cwd=ROOT, env=env)
            finally:
                second_rc = background.wait()
        print(f'\n[run_suite] ---- second pytest process ({", ".join(osp.basename(f) for f in second)}) ----',
              flush=True)
        with open(log_path) as log:
            sys.stdout.write(log.read())
    minutes = (time.time() - start) / 60
    print(f'[run_suite] first process exit {first_rc}, second process exit {second_rc}; {minutes:.1f} min in all',
          flush=True)
    return first_rc or second_rc


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
