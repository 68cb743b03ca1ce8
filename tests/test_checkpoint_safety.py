"""Checkpoints are data: no entry point runs code from one, and every bad file ends a tool with one line.

Entry points that read checkpoints: tools/test.py, tools/train.py (--resume, load_from, a backbone's init_cfg),
tools/convert_checkpoint.py, tools/export_backbone.py, tools/infer.py, tools/export_onnx.py. Each is given a file
crafted to run code through its pickle (a ``__reduce__`` calling ``exec``) and one whose metadata holds code
(mmengine's resume runs ``meta['config']`` through ``Config.fromstring``; ``meta['cfg']`` is what mmengine's
inferencer would run), and must not run it.
"""
import os
import os.path as osp
from pathlib import Path

import pytest
import torch

from tests.conftest import ROOT
from tests.helpers import DEMO_CONFIG, demo_data_options, run_in_process, run_tool
from vdense.data.demo_shapes import make_demo_coco


class RunsCode:
    """Unpickling this calls ``exec``: what a hostile checkpoint does."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f'open({self.marker!r}, "w").write("ran")',)


def code_text(marker) -> str:
    return f'import pathlib\npathlib.Path({str(marker)!r}).write_text("ran")\nmodel = dict()\n'


def assert_one_line_error(code, err, *fragments):
    assert code == 2, err
    assert 'Traceback' not in err
    lines = [line for line in err.splitlines() if line.startswith('error:')]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope='module')
def small_coco(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo')
    return make_demo_coco(str(root), splits={'train': (8, 10), 'val': (4, 11)}, size=96)


QUICK = ['train_dataloader.batch_size=4', 'val_dataloader.batch_size=4', 'test_dataloader.batch_size=4',
         'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
         'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
         'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False', 'model.test_cfg.score_thr=0.0']


@pytest.fixture(scope='module')
def trained(tmp_path_factory, small_coco):
    """A real one-epoch training checkpoint of the demo RetinaNet (work dir, checkpoint path)."""
    work = tmp_path_factory.mktemp('trained')
    run_tool('train.py', DEMO_CONFIG, '--work-dir', work, '--cfg-options', *demo_data_options(small_coco), *QUICK,
             'train_cfg.max_epochs=1', 'train_cfg.val_interval=10', 'default_hooks.checkpoint.interval=1')
    return work, work / 'epoch_1.pth'


def with_code_in_metadata(src, dst, marker):
    checkpoint = torch.load(src, map_location='cpu')
    # The real config with code slipped in, under both names mmengine's tools would run.
    checkpoint['meta']['cfg'] = code_text(marker) + checkpoint['meta']['cfg']
    checkpoint['meta']['config'] = checkpoint['meta']['cfg']
    torch.save(checkpoint, dst)
    return dst


def with_code_in_pickle(src, dst, marker):
    checkpoint = torch.load(src, map_location='cpu')
    checkpoint['meta']['note'] = RunsCode(marker)
    torch.save(checkpoint, dst)
    return dst


# ---- the pickle: refused by every entry point, nothing runs ------------------------------------------------------

ENTRY_POINTS = ['test', 'load_from', 'init_cfg', 'convert', 'export', 'infer', 'export_onnx']


def _entry_point_args(entry, ckpt, small_coco, tmp_path):
    data = ['--cfg-options', *demo_data_options(small_coco), *QUICK]
    if entry == 'test':
        return 'test', (DEMO_CONFIG, ckpt, '--work-dir', tmp_path / 'w', *data)
    if entry == 'load_from':
        return 'train', (DEMO_CONFIG, '--work-dir', tmp_path / 'w', *data, f'load_from={ckpt}',
                         'train_cfg.max_epochs=1', 'train_cfg.val_interval=10')
    if entry == 'init_cfg':
        return 'train', (DEMO_CONFIG, '--work-dir', tmp_path / 'w', *data, 'model.backbone.init_cfg.type=Pretrained',
                         f'model.backbone.init_cfg.checkpoint={ckpt}', 'train_cfg.max_epochs=1',
                         'train_cfg.val_interval=10')
    if entry == 'convert':
        return 'convert_checkpoint', (ckpt, tmp_path / 'out.pth')
    if entry == 'infer':
        image = sorted(Path(small_coco, 'val').glob('*.jpg'))[0]
        return 'infer', (DEMO_CONFIG, ckpt, image, '--out-dir', tmp_path / 'infer')
    if entry == 'export_onnx':
        pytest.importorskip('onnxruntime', reason='onnxruntime not installed (pip install -r requirements/export.txt)')
        return 'export_onnx', (DEMO_CONFIG, ckpt, tmp_path / 'backbone.onnx', '--check-size', 96, 96)
    return 'export_backbone', (ckpt, tmp_path / 'out.pth')


@pytest.mark.parametrize('entry', ENTRY_POINTS)
def test_code_in_the_pickle_never_runs(entry, trained, small_coco, tmp_path, capsys):
    marker = tmp_path / 'ran.txt'
    evil = with_code_in_pickle(trained[1], tmp_path / 'evil.pth', marker)
    tool, args = _entry_point_args(entry, evil, small_coco, tmp_path)
    code, _, err = run_in_process(capsys, tool, *args)
    assert not marker.exists(), f'{entry}: code in the checkpoint ran'
    line = assert_one_line_error(code, err, 'does not run code')
    assert 'weights_only=False' not in line  # never advise turning the safety off


def test_code_in_the_pickle_never_runs_on_resume(trained, small_coco, tmp_path, capsys):
    marker = tmp_path / 'ran.txt'
    evil = with_code_in_pickle(trained[1], tmp_path / 'evil.pth', marker)
    code, _, err = run_in_process(capsys, 'train', DEMO_CONFIG, '--work-dir', tmp_path / 'w', '--resume', evil,
                                  '--cfg-options', *demo_data_options(small_coco), *QUICK, 'train_cfg.max_epochs=2')
    assert not marker.exists()
    assert_one_line_error(code, err, 'does not run code')


# ---- code in the metadata: the entry points work and the text is never run ---------------------------------------

@pytest.mark.parametrize('entry', ENTRY_POINTS)
def test_code_in_the_metadata_never_runs(entry, trained, small_coco, tmp_path, capsys):
    marker = tmp_path / 'ran.txt'
    ckpt = with_code_in_metadata(trained[1], tmp_path / 'meta.pth', marker)
    tool, args = _entry_point_args(entry, ckpt, small_coco, tmp_path)
    code, out, err = run_in_process(capsys, tool, *args)
    assert not marker.exists(), f'{entry}: the config text in the checkpoint ran'
    assert code == 0, err[-2000:]


def test_code_in_the_metadata_never_runs_on_resume(trained, small_coco, tmp_path, capsys):
    import shutil
    marker = tmp_path / 'ran.txt'
    work = tmp_path / 'w'
    shutil.copytree(trained[0], work)
    with_code_in_metadata(work / 'epoch_1.pth', work / 'epoch_1.pth', marker)
    code, out, err = run_in_process(capsys, 'train', DEMO_CONFIG, '--work-dir', work, '--resume', work / 'epoch_1.pth',
                                    '--cfg-options', *demo_data_options(small_coco), *QUICK, 'train_cfg.max_epochs=2',
                                    'train_cfg.val_interval=10')
    assert not marker.exists(), 'mmengine ran meta["config"] while resuming'
    assert code == 0, err[-2000:]
    assert 'resumed epoch: 1' in out + err + '\n'.join(p.read_text() for p in work.glob('*/*.log'))
    assert (work / 'epoch_2.pth').is_file()


# ---- every other bad file: one line, exit 2 ----------------------------------------------------------------------

def _bad_file(kind, tmp_path, trained):
    path = tmp_path / f'{kind}.pth'
    good = trained[1].read_bytes()
    if kind == 'empty':
        path.write_bytes(b'')
    elif kind == 'truncated':
        path.write_bytes(good[:len(good) // 2])
    elif kind == 'garbage':
        path.write_bytes(bytes(range(256)) * 64)
    elif kind == 'list':
        torch.save([torch.zeros(3)], path)
    elif kind == 'other_family':
        from vdense.models import Swin
        torch.save({'state_dict': {'backbone.' + k: v for k, v in Swin('t').state_dict().items()}}, path)
    elif kind == 'hash_mismatch':
        data = bytearray(good)
        data[len(data) // 2:len(data) // 2 + 16] = bytes(16)  # 16 flipped bytes inside a tensor's storage
        path = tmp_path / 'published-0123abcd.pth'
        path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize('kind, fragment', [
    ('empty', 'the file is empty'), ('truncated', 'truncated'), ('garbage', 'not'),
    ('list', 'holds a list, not a checkpoint dict'), ('other_family', 'its backbone weights are a Swin-t'),
    ('hash_mismatch', 'carries content hash 0123abcd')])
def test_bad_checkpoints_get_one_line(kind, fragment, trained, small_coco, tmp_path, capsys):
    bad = _bad_file(kind, tmp_path, trained)
    code, _, err = run_in_process(capsys, 'test', DEMO_CONFIG, bad, '--work-dir', tmp_path / 'w', '--cfg-options',
                                  *demo_data_options(small_coco), *QUICK)
    line = assert_one_line_error(code, err, fragment)
    assert str(bad) in line


def test_resume_from_a_file_that_is_not_a_training_checkpoint(trained, small_coco, tmp_path, capsys):
    weights_only = tmp_path / 'weights.pth'
    torch.save({'state_dict': torch.load(trained[1], map_location='cpu')['state_dict']}, weights_only)
    code, _, err = run_in_process(capsys, 'train', DEMO_CONFIG, '--work-dir', tmp_path / 'w', '--resume', weights_only,
                                  '--cfg-options', *demo_data_options(small_coco), *QUICK)
    assert_one_line_error(code, err, 'not a training checkpoint', 'load_from=')


def test_resume_when_last_checkpoint_names_a_missing_file(small_coco, tmp_path, capsys):
    (tmp_path / 'w').mkdir()
    (tmp_path / 'w' / 'last_checkpoint').write_text(str(tmp_path / 'w' / 'epoch_9.pth'))
    code, _, err = run_in_process(capsys, 'train', DEMO_CONFIG, '--work-dir', tmp_path / 'w', '--resume',
                                  '--cfg-options', *demo_data_options(small_coco), *QUICK)
    assert_one_line_error(code, err, 'epoch_9.pth, which does not exist')


def test_converters_refuse_to_overwrite_their_input(trained, tmp_path, capsys):
    import shutil
    ckpt = shutil.copy(trained[1], tmp_path / 'epoch_1.pth')
    before = osp.getmtime(ckpt), osp.getsize(ckpt)
    for tool in ('export_backbone', 'convert_checkpoint'):
        code, _, err = run_in_process(capsys, tool, ckpt, ckpt, '--no-hash')
        assert_one_line_error(code, err, 'is the input file')
    assert (osp.getmtime(ckpt), osp.getsize(ckpt)) == before


def test_hash_suffix_checked_when_a_backbone_loads(trained, tmp_path, capsys):
    from vdense.engine import CheckpointError
    from vdense.models import ScalableViT
    code, out, _ = run_in_process(capsys, 'export_backbone', trained[1], tmp_path / 'backbone.pth')
    assert code == 0
    published, = tmp_path.glob('backbone-*.pth')
    arch = torch.load(published)['meta']['arch']
    ScalableViT(arch, init_cfg=dict(type='Pretrained', checkpoint=str(published))).init_weights()  # intact: loads
    data = bytearray(published.read_bytes())
    data[len(data) // 2:len(data) // 2 + 16] = bytes(b ^ 0xFF for b in data[len(data) // 2:len(data) // 2 + 16])
    published.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match='carries content hash'):
        ScalableViT(arch, init_cfg=dict(type='Pretrained', checkpoint=str(published))).init_weights()


def test_pretrained_init_refuses_another_family(tmp_path):
    from vdense.engine import CheckpointError
    from vdense.models import ScalableViT, Swin
    path = tmp_path / 'swin_t.pth'
    torch.save({'state_dict': Swin('t').state_dict()}, path)
    with pytest.raises(CheckpointError, match=r'only \d+/\d+ tensors fit ScalableViT'):
        ScalableViT('s', init_cfg=dict(type='Pretrained', checkpoint=str(path))).init_weights()


def test_config_text_is_read_as_data(tmp_path):
    from vdense.converters.config_text import backbone_from_config_text, read_config_text
    marker = tmp_path / 'ran.txt'
    text = (code_text(marker) + "model = dict(type='RetinaNet', backbone=dict(type='vdense.Swin', "
            "arch=dict(embed_dims=32, depths=[2, 2], num_heads=(1, -2))))\n"
            "x = __import__('os').system('true')\n")
    assert backbone_from_config_text(text) == ('Swin', dict(embed_dims=32, depths=[2, 2], num_heads=(1, -2)))
    assert 'x' not in read_config_text(text)
    assert not marker.exists()


# ---- a kill during a save loses nothing ------------------------------------------------------------------------

def test_kill_during_a_save_keeps_the_last_good_checkpoint(small_coco, tmp_path):
    import os
    import subprocess
    import sys
    work = tmp_path / 'w'
    options = ['--work-dir', work, '--cfg-options', *demo_data_options(small_coco), *QUICK,
               'default_hooks.checkpoint.interval=1', 'default_hooks.checkpoint.max_keep_ckpts=1',
               'train_cfg.max_epochs=3', 'train_cfg.val_interval=10']
    dying = tmp_path / 'dying.py'
    dying.write_text(f'_base_ = {DEMO_CONFIG!r}\n'
                     "custom_imports = dict(imports=['vdense.models', 'tests.kill_during_save'])\n")
    env = dict(os.environ, PYTHONWARNINGS='ignore', VDENSE_TEST_KILL_DURING='epoch_2.pth')
    killed = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), dying, *map(str, options)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert killed.returncode == -9, killed.stderr[-2000:]
    # epoch 1 is intact and named by last_checkpoint; the half-written epoch 2 never took its name.
    assert (work / 'last_checkpoint').read_text().strip() == str(work / 'epoch_1.pth')
    assert torch.load(work / 'epoch_1.pth', map_location='cpu')['meta']['epoch'] == 1
    assert not (work / 'epoch_2.pth').exists()
    proc = run_tool('train.py', DEMO_CONFIG, *options, '--resume')
    assert 'resumed epoch: 1' in proc.stdout + proc.stderr
    assert sorted(p.name for p in work.glob('epoch_*.pth')) == ['epoch_3.pth']  # max_keep_ckpts=1, old one deleted
    assert torch.load(work / 'epoch_3.pth', map_location='cpu')['meta']['epoch'] == 3


# ---- config mistakes ---------------------------------------------------------------------------------------------

def test_misspelled_cfg_option_names_the_close_ones(tmp_path, capsys):
    code, _, err = run_in_process(capsys, 'train', DEMO_CONFIG, '--work-dir', tmp_path,
                                  '--cfg-options', 'optim_wraper.optimizer.lr=0.5')
    assert_one_line_error(code, err, "no 'optim_wraper'", 'optim_wrapper', '+optim_wraper')


def test_new_top_level_key_needs_the_plus(tmp_path):
    import argparse

    from vdense.engine.cli import add_common_args, load_config
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    add_common_args(parser)
    cfg = load_config(parser.parse_args([DEMO_CONFIG, '--cfg-options', '+my_extra.value=3',
                                         'optim_wrapper.optimizer.lr=0.5']))
    assert cfg.my_extra.value == 3 and cfg.optim_wrapper.optimizer.lr == 0.5
    assert cfg.default_hooks.checkpoint.type == 'vdense.AtomicCheckpointHook'


@pytest.mark.parametrize('family', ['ScalableViT', 'Swin', 'MViT'])
def test_frozen_stages_beyond_the_stage_count_is_an_error(family):
    from vdense.models import backbones
    cls = getattr(backbones, family)
    cls('t' if family != 'ScalableViT' else 's', frozen_stages=4)  # the whole backbone: allowed
    with pytest.raises(ValueError, match=r'frozen_stages must lie in \[-1, 4\]'):
        cls('t' if family != 'ScalableViT' else 's', frozen_stages=9)


# ---- zero-padded batches are well-conditioned from scratch -------------------------------------------------------

@pytest.mark.parametrize('family', ['ScalableViT', 'Swin', 'MViT'])
def test_half_zero_padded_input_keeps_the_gradient_norm(family):
    from tests.helpers import probe_loss
    from vdense.models import backbones
    torch.manual_seed(0)
    arch = dict(ScalableViT=dict(embed_dims=[32, 64, 128, 256], depths=[1, 1, 2, 1], num_heads=[1, 2, 4, 8],
                                 c_ratios=[1.25, 1.25, 1.25, 1], window_sizes=[4, 4, 4, 4], mlp_ratios=[2, 2, 2, 2]),
                Swin=dict(embed_dims=32, depths=[1, 1, 2, 1], num_heads=[1, 2, 4, 8]),
                MViT=dict(embed_dims=32, depths=[1, 1, 2, 1], num_heads=1))[family]
    model = getattr(backbones, family)(arch, drop_path_rate=0.)
    model.init_weights()
    model.train()
    x = torch.randn(2, 3, 96, 128)
    padded = x.clone()
    padded[..., :, 64:] = 0  # what a batch of a 96x64 and a wider image looks like after normalisation + padding

    def grad_norm(inputs):
        model.zero_grad()
        probe_loss(model(inputs)).backward()
        return torch.sqrt(sum(p.grad.square().sum() for p in model.parameters() if p.grad is not None)).item()

    ratio = grad_norm(padded) / grad_norm(x)
    assert 0.1 < ratio < 10, f'{family}: gradient norm x{ratio:.3g} on half-padded input'


def test_load_from_another_family_is_refused(trained, small_coco, tmp_path, capsys):
    bad = _bad_file('other_family', tmp_path, trained)
    code, _, err = run_in_process(capsys, 'train', DEMO_CONFIG, '--work-dir', tmp_path / 'w', '--cfg-options',
                                  *demo_data_options(small_coco), *QUICK, f'load_from={bad}')
    assert_one_line_error(code, err, 'below the 50% load_from needs', 'Swin-t')


# ---- nothing from a checkpoint names a file vdense deletes; the best checkpoint survives a kill -----------------

BEST = ['train_cfg.val_interval=1', 'default_hooks.checkpoint.interval=1', 'default_hooks.checkpoint.save_best=auto']


def with_runtime_info(src, dst, **info):
    """``src`` (a real training checkpoint) whose saved message hub says ``info`` (as a resumed run reads it)."""
    checkpoint = torch.load(src, map_location='cpu')
    checkpoint['message_hub']['runtime_info'].update(info)
    checkpoint['message_hub']['resumed_keys'].update({key: True for key in info})  # as update_info() marks them
    torch.save(checkpoint, dst)
    return dst


def test_best_ckpt_from_a_resumed_checkpoint_deletes_nothing(trained, small_coco, tmp_path, capsys):
    victim = tmp_path / 'precious.txt'
    victim.write_text('the user\'s file')
    work = tmp_path / 'w'
    crafted = with_runtime_info(trained[1], tmp_path / 'crafted.pth', best_ckpt=str(victim),
                                keep_ckpt_ids=[f'../{victim.name}', 1])
    code, out, err = run_in_process(capsys, 'train', DEMO_CONFIG, '--work-dir', work, '--resume', crafted,
                                    '--cfg-options', *demo_data_options(small_coco), *QUICK, 'train_cfg.max_epochs=2',
                                    *BEST)
    assert code in (0, None), err[-2000:]
    assert victim.read_text() == 'the user\'s file', 'the path named in the checkpoint was deleted'
    assert 'as the previous best checkpoint' in out + err
    best, = work.glob('best_*epoch_2.pth')  # the run's own best is saved as usual
    assert torch.load(best, map_location='cpu')['message_hub']['runtime_info']['best_ckpt'] == str(best)


def test_kill_while_saving_the_best_keeps_the_previous_best(trained, small_coco, tmp_path, capsys):
    import shutil
    import subprocess
    import sys
    work = tmp_path / 'w'
    work.mkdir()
    # A run whose epoch 1 was its best so far (saved under mmengine's best name), resumed with a worse score.
    old_best = work / 'best_coco_bbox_mAP_epoch_1.pth'
    shutil.copy(trained[1], old_best)
    start = with_runtime_info(trained[1], work / 'epoch_1.pth', best_ckpt=str(old_best), best_score=-1.0)
    options = ['--work-dir', work, '--cfg-options', *demo_data_options(small_coco), *QUICK, *BEST,
               'train_cfg.max_epochs=3']
    dying = tmp_path / 'dying.py'
    dying.write_text(f'_base_ = {DEMO_CONFIG!r}\n'
                     "custom_imports = dict(imports=['vdense.models', 'tests.kill_during_save'])\n")
    env = dict(os.environ, PYTHONWARNINGS='ignore', VDENSE_TEST_KILL_DURING='best_')
    killed = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), dying, '--resume', start,
                             *map(str, options)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert torch.load(old_best, map_location='cpu')['meta']['epoch'] == 1  # the previous best is intact
    assert not (work / 'best_coco_bbox_mAP_epoch_2.pth').exists()  # the half-written one never took its name
    code, out, err = run_in_process(capsys, 'train', DEMO_CONFIG, *options, '--resume')
    assert code in (0, None) and 'resumed epoch: 2' in out + err, err[-2000:]
    best, = work.glob('best_*.pth')
    assert best.name == 'best_coco_bbox_mAP_epoch_3.pth' and not old_best.exists()
    assert torch.load(best, map_location='cpu')['meta']['epoch'] == 3
    assert not list(work.glob('*.tmp')), 'the partial file of the killed save was left behind'


def test_a_failed_save_leaves_no_partial_file(small_coco, tmp_path):
    """A full disk, as a file-size limit makes it: one line, exit 2, no ``.tmp`` filling the disk."""
    import resource
    import subprocess
    import sys
    work = tmp_path / 'w'
    limit = 4 << 20  # the logs fit, the demo model's checkpoint (~40 MB) does not

    def small_disk():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'), DEMO_CONFIG, '--work-dir', str(work),
                           '--cfg-options', *demo_data_options(small_coco), *QUICK, 'train_cfg.max_epochs=1',
                           'train_cfg.val_interval=10', 'default_hooks.checkpoint.interval=1'],
                          cwd=ROOT, env=dict(os.environ, PYTHONWARNINGS='ignore'), capture_output=True, text=True,
                          timeout=600, preexec_fn=small_disk)
    assert_one_line_error(proc.returncode, proc.stderr, 'epoch_1.pth', 'cannot write the checkpoint')
    assert not list(work.rglob('*.tmp')) and not (work / 'epoch_1.pth').exists()


# ---- the work dir: one training at a time; the config is never replaced -----------------------------------------

def test_a_second_training_in_the_same_work_dir_is_refused(small_coco, tmp_path, capsys):
    import subprocess
    import sys
    work = tmp_path / 'w'
    hold = (f'import time\nfrom vdense.engine.build import lock_work_dir\nlock_work_dir({str(work)!r})\n'
            'print("held", flush=True)\ntime.sleep(120)')
    holder = subprocess.Popen([sys.executable, '-c', hold], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'held'
        code, _, err = run_in_process(capsys, 'train', DEMO_CONFIG, '--work-dir', work, '--cfg-options',
                                      *demo_data_options(small_coco), *QUICK, 'train_cfg.max_epochs=1')
        assert_one_line_error(code, err, 'another training is running in this work dir', f'pid {holder.pid}')
        assert not list(work.glob('epoch_*.pth'))
    finally:
        holder.kill()
        holder.wait()
    # The holder died without cleaning up: its lock file stays, and is taken over.
    from vdense.engine.build import LOCK_NAME, lock_work_dir, release_work_dir
    assert f'pid {holder.pid}' in (work / LOCK_NAME).read_text()
    lock_work_dir(str(work))
    assert f'pid {os.getpid()}' in (work / LOCK_NAME).read_text()
    release_work_dir(str(work))


def test_work_dir_set_to_the_config_folder_keeps_the_config(trained, small_coco, tmp_path, capsys):
    folder = tmp_path / 'configs'
    folder.mkdir()
    config = folder / 'my_demo.py'
    text = f'_base_ = {DEMO_CONFIG!r}\n# my notes\n'
    config.write_text(text)
    for tool, args in (('test', (config, trained[1])), ('train', (config,))):
        code, _, err = run_in_process(capsys, tool, *args, '--work-dir', folder, '--cfg-options',
                                      *demo_data_options(small_coco), *QUICK, 'train_cfg.max_epochs=0')
        assert code in (0, None), err[-2000:]
        assert config.read_text() == text, f'{tool}: the config was replaced by its dump'
    assert len(list(folder.glob('*/my_demo.py'))) == 2  # the dumps: in each run's timestamp folder
