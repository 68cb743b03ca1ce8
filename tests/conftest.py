import ctypes
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import threading

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
# Key names and shapes of the authors' released ScalableViT checkpoints (read from their files once; kept here so
# the tests need nothing outside the clone).
OFFICIAL_KEYS = osp.join(ROOT, 'tests', 'data', 'scalablevit_official_keys.json')

# The demos `make test` trains (tests/test_e2e_demo.py): task -> (config, generated data set it trains on, cost: what
# the workers balance). Costs are CPU seconds of each training + test.py alone on one thread of an idle 2-core machine
# (2026-12-06: steps x CPU-s per step, mask_rcnn 750 x ~0.72 (its steps grow from 0.6 to 1.0 as the RPN finds the
# shapes), upernet 1500 x 0.32, semantic_fpn 1200 x 0.31, imagenet 4000 x 0.087, retinanet 1250 x 0.21, each + ~25 s
# of start-up, validation and test.py); measure alone again before re-balancing: timings taken beside the suite mislead.
DEMO_TRAININGS = {
    'mask_rcnn': ('mask_rcnn_scalablevit_demo.py', 'coco', 565),
    'upernet': ('upernet_scalablevit_demo.py', 'ade', 500),
    'semantic_fpn': ('semantic_fpn_scalablevit_demo.py', 'ade', 390),
    'imagenet': ('imagenet_scalablevit_demo.py', 'imagenet', 370),
    'retinanet': ('retinanet_scalablevit_demo.py', 'coco', 290),
}
# Each demo trains in a process of its own with one thread, DEMO_WORKERS at a time, while the rest of the suite runs:
# these small models gain little from a second thread (RetinaNet demo: 1.2x), and the other tests are mostly
# single-threaded Python (imports, subprocesses, COCO evaluation), so the 2 cores stay busy. Each worker gets a fixed
# lane of demos whose costs add up to about the same (balanced_lanes): a shared queue left one worker training alone
# for minutes at the end of the suite.
DEMO_WORKERS = int(os.environ.get('VDENSE_TEST_DEMO_WORKERS', 2))


@pytest.fixture(scope='session')
def official_scalable_vit_shapes():
    with open(OFFICIAL_KEYS) as f:
        return json.load(f)


def make_demo_data(root):
    from tests.helpers import run_tool
    run_tool('make_demo_data.py', '--root', root)
    return root


def balanced_lanes(tasks, workers, users=None):
    """``tasks`` split into ``workers`` lists whose summed costs have the smallest maximum (exhaustive: a handful of
    demos). In each list the demos more tests wait for train first (``users``: task -> number of tests; the pretraining
    flow, test_cli and test_readme build on the RetinaNet and classifier demos and then run while the rest trains),
    then the longest."""
    import itertools
    users = users or {}
    cost = {t: DEMO_TRAININGS[t][2] for t in tasks}
    best = None
    for assignment in itertools.product(range(workers), repeat=len(tasks)):
        loads = [sum(cost[t] for t, w in zip(tasks, assignment) if w == i) for i in range(workers)]
        if best is None or max(loads) < best[0]:
            best = (max(loads), assignment)
    lanes = [[t for t, w in zip(tasks, best[1]) if w == i] for i in range(workers)]
    return [sorted(lane, key=lambda t: (-users.get(t, 0), -cost[t])) for lane in lanes if lane]


class DemoTrainings:
    """Trains each requested demo once per session, as `make demo` does (tools/train.py, then tools/test.py with
    --show-dir), in background processes started at collection time; the tests that need a trained demo (its
    metrics, checkpoint, logs) wait for it. The tests using it run last, after every other test."""

    def __init__(self, base, lanes):
        self.base = base
        self.lanes = lanes
        self.tasks = [t for lane in lanes for t in lane]
        self.results = {}
        self.done = {t: threading.Event() for t in self.tasks}
        self.data_ready = threading.Event()
        self.data_error = None
        self.procs = set()
        self.stopped = False
        self.lock = threading.Lock()
        threading.Thread(target=self._run, daemon=True).start()

    @property
    def data_root(self):
        self.data_ready.wait()
        if self.data_error:
            raise AssertionError(self.data_error)
        return self.base / 'demo_data'

    def _popen(self, args, log):
        env = dict(os.environ, PYTHONWARNINGS='ignore', OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
        with self.lock:
            if self.stopped:
                return None
            proc = subprocess.Popen([sys.executable, *map(str, args)], cwd=ROOT, env=env, stdout=log,
                                    stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
            self.procs.add(proc)
        proc.wait()
        with self.lock:
            self.procs.discard(proc)
        return proc.returncode

    def _run(self):
        with open(self.base / 'demo_data.log', 'w') as log:
            rc = self._popen([osp.join(ROOT, 'tools', 'make_demo_data.py'), '--root', self.base / 'demo_data'], log)
        if rc != 0:
            self.data_error = f'make_demo_data.py exited {rc}: {(self.base / "demo_data.log").read_text()[-3000:]}'
        self.data_ready.set()
        for lane in self.lanes:
            threading.Thread(target=self._worker, args=(lane,), daemon=True).start()

    def _worker(self, lane):
        for task in lane:
            try:
                self.results[task] = self._train_and_test(task) if not self.data_error else self.data_error
            except Exception as e:  # reported by the test that waits for it
                self.results[task] = repr(e)
            finally:
                self.done[task].set()

    def _train_and_test(self, task):
        from tests.helpers import data_root_options, demo_data_options
        config, data, _ = DEMO_TRAININGS[task]
        config = osp.join(ROOT, 'configs', 'demo', config)
        root = self.base / 'demo_data' / data
        options = demo_data_options(root) if data == 'coco' else data_root_options(root)
        work_dir = self.base / task
        work_dir.mkdir()
        with open(work_dir / 'train.out', 'w') as log:
            rc = self._popen([osp.join(ROOT, 'tools', 'train.py'), config, '--work-dir', work_dir,
                              '--cfg-options', *options], log)
        if rc != 0:
            return f'train.py {config} exited {rc}:\n{(work_dir / "train.out").read_text()[-3000:]}'
        checkpoint = (work_dir / 'last_checkpoint').read_text().strip()
        with open(work_dir / 'test.out', 'w') as log:
            rc = self._popen([osp.join(ROOT, 'tools', 'test.py'), config, checkpoint, '--work-dir', work_dir,
                              '--show-dir', 'vis', '--out', work_dir / 'predictions.pkl', '--cfg-options', *options],
                             log)
        if rc != 0:
            return f'test.py {config} exited {rc}:\n{(work_dir / "test.out").read_text()[-3000:]}'
        return TrainedDemo(task, config, work_dir, checkpoint, (work_dir / 'test.out').read_text(), options)

    def get(self, task):
        if task not in self.done:
            raise AssertionError(f'demo {task!r} is not trained in this session: mark the test '
                                 f'@pytest.mark.trains_demo({task!r})')
        self.done[task].wait()
        result = self.results[task]
        if isinstance(result, str):
            raise AssertionError(result)
        return result

    def stop(self):
        with self.lock:
            self.stopped = True
            for proc in self.procs:
                proc.kill()


try:  # Linux: a background training is killed with pytest, even when pytest itself is killed
    _prctl = ctypes.CDLL(None).prctl
except (AttributeError, OSError):
    _prctl = None


def _die_with_parent():
    if _prctl is not None:
        _prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (nothing imported here: this runs in the forked child)


class TrainedDemo:
    def __init__(self, task, config, work_dir, checkpoint, test_log, options):
        self.task, self.config, self.work_dir, self.checkpoint = task, config, work_dir, checkpoint
        self.test_log, self.options = test_log, options


def pytest_configure(config):
    config.addinivalue_line('markers', 'trains_demo(*tasks): needs these demos trained once per session, in the '
                                       'background (the `trained_demos` fixture); runs after the other tests')


def _demo_tasks(item):
    return {task for mark in item.iter_markers('trains_demo') for task in mark.args}


@pytest.hookimpl(trylast=True)  # after -k/-m deselection: only the demos the selected tests need
def pytest_collection_modifyitems(session, config, items):
    needing = [item for item in items if _demo_tasks(item)]
    if not needing:
        return
    tasks = set().union(*map(_demo_tasks, needing))
    unknown = tasks - set(DEMO_TRAININGS)
    if unknown:
        raise pytest.UsageError(f'trains_demo: unknown demo tasks {sorted(unknown)}; known: {sorted(DEMO_TRAININGS)}')
    # The tests waiting for a trained demo go last, in the order their demos are expected to be ready; the demos train
    # while every other test runs.
    users = {t: sum(t in _demo_tasks(item) for item in needing) for t in tasks}
    lanes = balanced_lanes([t for t in DEMO_TRAININGS if t in tasks], max(1, DEMO_WORKERS), users)
    ready_at = {}
    for lane in lanes:
        elapsed = 0
        for task in lane:
            elapsed += DEMO_TRAININGS[task][2]
            ready_at[task] = elapsed
    needing.sort(key=lambda item: max(ready_at[t] for t in _demo_tasks(item)))
    items[:] = [item for item in items if not _demo_tasks(item)] + needing
    if config.option.collectonly:
        return
    base = config._tmp_path_factory.mktemp('demo_trainings', numbered=True)
    config.stash[_TRAININGS] = DemoTrainings(base, lanes)


_TRAININGS = pytest.StashKey[DemoTrainings]()


def pytest_unconfigure(config):
    trainings = config.stash.get(_TRAININGS, None)
    if trainings is not None:
        trainings.stop()


@pytest.fixture(scope='session')
def trained_demos(request):
    """``trained_demos.get(task)``: the demo trained (and tested) once this session (TrainedDemo)."""
    trainings = request.config.stash.get(_TRAININGS, None)
    if trainings is None:
        raise AssertionError('no demo trainings were started: mark the test @pytest.mark.trains_demo(task)')
    return trainings


@pytest.fixture(scope='session')
def demo_root(request, tmp_path_factory):
    """Every generated demo set (COCO, ADE20K and ImageNet layouts), made once per test session."""
    trainings = request.config.stash.get(_TRAININGS, None)
    if trainings is not None:  # the background trainings made it already
        return trainings.data_root
    return make_demo_data(tmp_path_factory.mktemp('demo_data'))
