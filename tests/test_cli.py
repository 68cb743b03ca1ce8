"""The tools as a person meets them: --help at once (with defaults), one line and exit 2 for every bad input
(config, flag, --cfg-options, annotation file, data set, checkpoint), logs that show progress, and last lines
that name what was written."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from tests.conftest import ROOT
from tests.helpers import DEMO_CONFIG, demo_data_options, load_tool, run_in_process, run_tool
from vdense.data.demo_shapes import make_demo_coco

PY_TOOLS = ('train', 'test', 'get_flops', 'convert_checkpoint', 'export_backbone', 'benchmark', 'make_demo_data',
            'infer', 'export_onnx')
SHELL_TOOLS = {'install.sh': 'Installs the verified stack', 'wheels.sh': 'Downloads every wheel',
               'dist_train.sh': 'Distributed training', 'dist_test.sh': 'Distributed evaluation',
               'slurm_train.sh': 'Training on a Slurm cluster'}


def one_error_line(code, err, *fragments):
    assert code == 2, err[-3000:]
    assert 'Traceback' not in err, err[-3000:]
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith('error: '), err[-3000:]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope='module')
def tiny_coco(tmp_path_factory):
    root = tmp_path_factory.mktemp('cli_demo')
    return make_demo_coco(str(root), splits={'train': (4, 10), 'val': (2, 11)}, size=96)


def test_help_answers_before_the_stack_is_imported_and_shows_defaults():
    # Each tool's --help in a fresh interpreter: the heavy modules it imported, and the text.
    script = (
        'import json, runpy, sys, io, contextlib\n'
        f'tool = {ROOT!r} + "/tools/" + sys.argv[1] + ".py"\n'
        'sys.argv = [tool, "--help"]\n'
        'out = io.StringIO()\n'
        'with contextlib.redirect_stdout(out):\n'
        '    try:\n'
        '        runpy.run_path(tool, run_name="__main__")\n'
        '    except SystemExit as e:\n'
        '        code = e.code\n'
        'heavy = sorted(m for m in ("torch", "mmengine", "mmdet", "mmcv", "vdense") if m in sys.modules)\n'
        'print(json.dumps(dict(code=code, heavy=heavy, text=out.getvalue())))\n')
    helps = {}
    for tool in PY_TOOLS:
        proc = subprocess.run([sys.executable, '-c', script, tool], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        assert result['code'] in (0, None) and result['heavy'] == [], (tool, result['heavy'])
        assert 'usage:' in result['text'] and '--debug' in result['text'], (tool, result['text'])
        helps[tool] = ' '.join(result['text'].split())  # argparse wraps lines
    assert '(default: none)' in helps['train'] and '(default: data/demo)' in helps['make_demo_data']
    assert '(default: 5)' in helps['benchmark']
    assert 'python tools/train.py configs/' in helps['train']  # the usage examples of the docstring


@pytest.mark.parametrize('script', sorted(SHELL_TOOLS))
def test_shell_scripts_answer_help_without_running(script, tmp_path):
    # PYTHON=false: a script that ignored --help would fail (or install, download) instead of printing its help.
    env = dict(os.environ, PYTHON='false', WHEELS=str(tmp_path / 'wheels'), VDENSE_CACHE=str(tmp_path / 'cache'))
    for flag in ('--help', '-h'):
        proc = subprocess.run(['bash', osp.join(ROOT, 'tools', script), flag], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert SHELL_TOOLS[script] in proc.stdout
    assert not (tmp_path / 'wheels').exists()


@pytest.mark.parametrize('tool', ['train', 'test', 'get_flops'])
def test_a_wrong_config_path_names_the_closest_configs(capsys, tool):
    wrong = 'configs/demo/retinanet_scalablevit_dem.py'
    args = [wrong, 'x.pth'] if tool == 'test' else [wrong]
    code, _, err = run_in_process(capsys, tool, *args)
    one_error_line(code, err, wrong, 'config not found', os.getcwd(),
                   'did you mean configs/demo/retinanet_scalablevit_demo.py')


def test_cfg_options_are_checked_before_anything_runs(capsys, tmp_path):
    # No data where the options point: without the checks the tool would stop at the data set instead.
    nowhere = [f'{loader}.dataset.data_root={tmp_path}/nowhere/' for loader in ('train_dataloader',
                                                                                  'val_dataloader')]

    def train(*options):
        code, _, err = run_in_process(capsys, 'train', DEMO_CONFIG, '--work-dir', tmp_path / 'work',
                                      '--cfg-options', *nowhere, *options)
        return code, err

    one_error_line(*train('default_hooks.checkpoint.max_keep_ckpt=1'), 'CheckpointHook',
                   'did you mean default_hooks.checkpoint.max_keep_ckpts?')
    one_error_line(*train('model.backbone.frozen_stage=1'), 'vdense.ScalableViT',
                   'did you mean model.backbone.frozen_stages?')
    one_error_line(*train('train_cfg.max_epoch=1'), 'EpochBasedTrainLoop', 'train_cfg.max_epochs')
    one_error_line(*train('train_dataloader.batch_sizes=1'), 'train_dataloader.batch_size')
    one_error_line(*train('optim_wrapper.optimizer.lr=abc'), 'optim_wrapper.optimizer.lr=abc', 'expected a number')
    assert not (tmp_path / 'work').exists(), 'nothing is started'
    # What the classes do take passes the check (and stops at the missing data, as it should).
    one_error_line(*train('default_hooks.checkpoint.max_keep_ckpts=1', 'model.backbone.with_cp=True',
                          '+default_hooks.checkpoint.anything=1'), 'nowhere')


@pytest.mark.skipif(torch.cuda.is_available(), reason='--amp on a machine without a GPU')
def test_amp_without_a_gpu_is_one_line(capsys, tmp_path):
    code, _, err = run_in_process(capsys, 'train', DEMO_CONFIG, '--amp', '--work-dir', tmp_path,
                                  '--cfg-options', f'train_dataloader.dataset.data_root={tmp_path}/nowhere/')
    one_error_line(code, err, '--amp', 'needs a CUDA GPU')


def test_stack_errors_name_the_config_entry(capsys, tmp_path, tiny_coco):
    base = ['--cfg-options', *demo_data_options(tiny_coco)]
    code, _, err = run_in_process(capsys, 'train', DEMO_CONFIG, '--work-dir', tmp_path / 'a', *base,
                                  'model.backbone.frozen_stages=7')
    one_error_line(code, err, 'model.backbone (vdense.ScalableViT): frozen_stages must lie in [-1, 4]', '--debug')
    # --debug: the whole traceback instead (here the refused option's, raised before anything is built).
    with pytest.raises(ValueError, match='max_keep_ckpts'):
        load_tool('train').main([DEMO_CONFIG, '--debug', '--work-dir', str(tmp_path / 'b'), *base,
                                 'default_hooks.checkpoint.max_keep_ckpt=1'])


def build_train_dataset(tmp_path, coco, ann_file):
    """The training data set of the demo config as tools/train.py loads it, built in the tools' error wrapper."""
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope

    from vdense.engine.cli import load_config, one_line_errors
    args = [DEMO_CONFIG, '--work-dir', str(tmp_path), '--cfg-options', *demo_data_options(coco),
            f'train_dataloader.dataset.ann_file={ann_file}']
    cfg = load_config(load_tool('train').parse_args(args))
    init_default_scope('mmdet')
    with one_line_errors():
        return DATASETS.build(cfg.train_dataloader.dataset)


def test_bad_annotation_files_are_one_line(capsys, tmp_path, tiny_coco):
    empty, broken, no_images = tmp_path / 'empty.json', tmp_path / 'broken.json', tmp_path / 'no_images.json'
    empty.write_text('')
    broken.write_text('{"images": [')
    ann = json.loads(open(osp.join(tiny_coco, 'annotations', 'instances_train.json')).read())
    no_images.write_text(json.dumps(dict(ann, images=[], annotations=[])))
    for path, fragment in ((empty, f'annotation file {empty} is empty'),
                           (broken, f'annotation file {broken} is not valid JSON'),
                           (no_images, f'the data set has 0 images (ann_file {no_images}')):
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_:
            build_train_dataset(tmp_path, tiny_coco, path)
        one_error_line(exit_.value.code, capsys.readouterr().err, 'train_dataloader.dataset (vdense.CocoDataset)',
                       fragment)


def test_invalid_annotations_are_counted_and_reported_once(capsys, tmp_path, tiny_coco):
    ann = json.loads(open(osp.join(tiny_coco, 'annotations', 'instances_train.json')).read())
    total = len(ann['annotations'])
    ann['annotations'][0]['category_id'] = 99  # a category the file does not declare
    ann['annotations'][1]['bbox'][2] = 0  # a box without width
    path = tmp_path / 'flawed.json'
    path.write_text(json.dumps(ann))
    from mmengine.logging import MMLogger
    MMLogger.get_instance(f'test_cli_{tmp_path.name}')  # the current logger, printing where capsys reads
    capsys.readouterr()
    dataset = build_train_dataset(tmp_path, tiny_coco, path)
    out = capsys.readouterr().out
    reports = [line for line in out.splitlines() if 'annotations ignored' in line]
    assert len(reports) == 1, out
    assert (f'{path}: 2 of {total} annotations ignored: 1 with a category id the file does not declare (e.g. 99); '
            '1 with a box of no area' in reports[0])
    assert len(dataset) == len(ann['images'])


def test_a_missing_data_set_names_the_configs_paths_and_the_working_directory(capsys, tmp_path, tiny_coco,
                                                                              monkeypatch):
    # A clone whose config's data_root is relative to it, run from another folder.
    clone = tmp_path / 'clone'
    (clone / 'configs').mkdir(parents=True)
    (clone / 'data').mkdir()
    os.symlink(tiny_coco, clone / 'data' / 'shapes')
    config = clone / 'configs' / 'shapes.py'
    config.write_text(f"_base_ = {DEMO_CONFIG!r}\ndata_root = 'data/shapes/'\n"
                      "train_dataloader = dict(dataset=dict(data_root=data_root))\n"
                      "val_dataloader = dict(dataset=dict(data_root=data_root))\n")
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, _, err = run_in_process(capsys, 'train', config, '--work-dir', tmp_path / 'work')
    one_error_line(code, err, "train_dataloader.dataset (CocoDataset): data/shapes/annotations/instances_train.json "
                   "not found (data_root 'data/shapes/', ann_file 'annotations/instances_train.json'; relative to "
                   f'the working directory {elsewhere})', f'it is under {clone}: run from there',
                   f'train_dataloader.dataset.data_root={clone}/data/shapes/')
    assert 'COCO 2017' not in err and 'cocodataset.org' not in err


def test_the_last_metrics_line_shows_every_number_the_stack_reports():
    import numpy as np

    from vdense.engine.cli import metrics_line
    # mmseg: numpy float32; mmpretrain: Python floats and 0-d tensors; per-class arrays stay in the log
    line = metrics_line({'aAcc': np.float32(97.42), 'mIoU': np.float32(63.31), 'accuracy/top1': torch.tensor(88.),
                         'iters': 3, 'per_class': np.zeros(4), 'coco/bbox_mAP': 0.795})
    assert line == 'aAcc 97.4200, mIoU 63.3100, accuracy/top1 88.0000, iters 3, coco/bbox_mAP 0.7950'
    assert metrics_line({}) == 'no metrics'


def test_make_demo_does_not_print_a_placeholder():
    proc = subprocess.run(['make', '-n', 'demo'], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert 'tools/test.py' in proc.stdout and '<timestamp>' not in proc.stdout


@pytest.mark.trains_demo('retinanet')
def test_console_shows_progress_and_ends_with_the_metric_and_real_paths(trained_demos):
    demo = trained_demos.get('retinanet')  # trained and tested as `make demo` does
    train_out = (demo.work_dir / 'train.out').read_text()
    assert 'Config:' not in train_out and 'paramwise_options' not in train_out
    assert 'Hooks will be executed' not in train_out
    first_progress = next(i for i, line in enumerate(train_out.splitlines()) if 'Epoch(train)' in line)
    assert first_progress < 40, train_out[:5000]
    last = train_out.strip().splitlines()[-3:]
    assert last[0].startswith('vdense: last validation') and 'coco/bbox_mAP' in last[0]
    assert last[1].startswith('vdense: log in ')
    log_file = last[1].split('vdense: log in ', 1)[1]
    log = open(log_file if osp.isabs(log_file) else osp.join(ROOT, log_file)).read()
    assert 'Config:' in log and 'paramwise_options' in log and 'Hooks will be executed' in log  # kept in the file
    assert last[2] == f'vdense: last checkpoint {demo.checkpoint}'

    test_last = demo.test_log.strip().splitlines()[-4:]  # the demos' test.py runs also dump --out
    assert 'coco/bbox_mAP' in test_last[0] and test_last[2].startswith('vdense: log in ')
    assert test_last[1] == f'vdense: predictions in {demo.work_dir / "predictions.pkl"}'
    assert test_last[3].startswith('vdense: drawings in ')
    drawings = test_last[3].split('vdense: drawings in ', 1)[1]
    assert '<timestamp>' not in drawings and osp.dirname(osp.dirname(drawings)) == str(demo.work_dir)
    assert len(os.listdir(drawings)) > 0


@pytest.mark.trains_demo('retinanet')
def test_resuming_another_tasks_checkpoint_is_one_line(trained_demos, demo_root, tmp_path):
    detector = trained_demos.get('retinanet')  # a detector's training checkpoint, made by tools/train.py
    from tests.helpers import data_root_options
    proc = run_tool('train.py', osp.join(ROOT, 'configs', 'demo', 'upernet_swin_demo.py'), '--work-dir', tmp_path,
                    '--resume', detector.checkpoint, '--cfg-options', *data_root_options(osp.join(demo_root, 'ade')),
                    check=False)
    one_error_line(proc.returncode, proc.stderr, detector.checkpoint, "not a checkpoint of this config's model")
