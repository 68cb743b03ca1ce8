"""Resume is exact, and data problems stop a run early with one line (or are skipped when asked)."""
import cv2
import numpy as np
import pytest
import torch

from tests.helpers import DEMO_CONFIG, demo_data_options, run_tool
from vdense.data.demo_shapes import make_demo_coco


@pytest.fixture(scope='module')
def small_coco(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo')
    return make_demo_coco(str(root), splits={'train': (8, 10), 'val': (4, 11)}, size=96)


def _options(coco, workers):
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    return ['--cfg-options', *demo_data_options(coco), 'train_dataloader.batch_size=4', 'val_dataloader.batch_size=4',
            'test_dataloader.batch_size=4', *[f'{d}.num_workers={workers}' for d in loaders],
            *[f'{d}.persistent_workers={workers > 0}' for d in loaders], 'model.backbone.drop_path_rate=0.2',
            'default_hooks.checkpoint.interval=1', 'default_hooks.checkpoint.max_keep_ckpts=5',
            'train_cfg.val_interval=1', 'model.test_cfg.score_thr=0.0', 'randomness.seed=3']


def test_one_epoch_and_resume_equals_two_epochs(small_coco, tmp_path):
    """Random flips, drop path and validation between the epochs on: the weights after 1 epoch + --resume are
    those of 2 epochs in one go, bit for bit, whatever the dataloader workers: the whole run has 2 persistent
    workers (the epoch reaches them between epochs), the interrupted one none, and its resumed half 2 persistent
    workers again (the resumed epoch reaches them at start)."""
    run_tool('train.py', DEMO_CONFIG, '--work-dir', tmp_path / 'whole', *_options(small_coco, 2),
             'train_cfg.max_epochs=2')
    run_tool('train.py', DEMO_CONFIG, '--work-dir', tmp_path / 'split', *_options(small_coco, 0),
             'train_cfg.max_epochs=1')
    proc = run_tool('train.py', DEMO_CONFIG, '--work-dir', tmp_path / 'split', *_options(small_coco, 2),
                    'train_cfg.max_epochs=2', '--resume')
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 1, iter: 2' in log and 'coco/bbox_mAP' in log  # 8 images in batches of 4
    resumed = torch.load(tmp_path / 'split' / 'epoch_2.pth', map_location='cpu')
    assert resumed['meta']['epoch'] == 2 and resumed['meta']['iter'] == 4
    # The optimizer state went on from where it was, not from zero.
    steps = [s['step'] for s in resumed['optimizer']['state'].values()]
    assert steps and all(float(s) == 4 for s in steps)
    whole = torch.load(tmp_path / 'whole' / 'epoch_2.pth', map_location='cpu')['state_dict']
    split = resumed['state_dict']
    first = torch.load(tmp_path / 'split' / 'epoch_1.pth', map_location='cpu')['state_dict']
    assert any(not torch.equal(first[k], whole[k]) for k in whole), 'epoch 2 changed nothing: the check is vacuous'
    differing = [k for k in whole if not torch.equal(whole[k], split[k])]
    assert not differing, f'{len(differing)} tensors differ, e.g. {differing[:3]}'


def test_flips_are_drawn_per_sample_and_epoch():
    """The pipeline's draws depend on (seed, epoch, index) only: the same sample flips the same way in the same
    epoch whichever process draws it, and differently across epochs."""
    import multiprocessing

    from vdense.engine.exact_resume_hook import EpochSeededDataset

    class Draws:
        def __len__(self):
            return 64

        def __getitem__(self, idx):
            return float(np.random.rand())

    epoch = multiprocessing.Value('q', 0, lock=False)
    seeded = EpochSeededDataset(Draws(), seed=7, epoch=epoch)
    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    first = [seeded[i] for i in range(64)]
    assert np.array_equal(np.random.get_state()[1], before), 'the main process generator was consumed'
    assert first == [seeded[i] for i in range(64)]
    epoch.value = 1
    assert first != [seeded[i] for i in range(64)]
    assert len(set(first)) == 64


def test_missing_images_are_found_before_training(small_coco, tmp_path):
    import shutil
    coco = tmp_path / 'coco'
    shutil.copytree(small_coco, coco)
    train_images = sorted((coco / 'train').glob('*.png')) or sorted((coco / 'train').glob('*.jpg'))
    for img in train_images[:2]:
        img.unlink()
    proc = run_tool('train.py', DEMO_CONFIG, '--work-dir', tmp_path / 'w', *_options(coco, 0), 'train_cfg.max_epochs=1',
                    check=False)
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    line, = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
    assert f'2 of the {len(train_images)} files its annotations name are missing' in line
    assert train_images[0].name in line
    assert 'Epoch(train)' not in proc.stdout


def test_unreadable_image_stops_with_its_name_or_is_skipped(small_coco, tmp_path):
    import shutil
    coco = tmp_path / 'coco'
    shutil.copytree(small_coco, coco)
    bad = (sorted((coco / 'train').glob('*.png')) or sorted((coco / 'train').glob('*.jpg')))[0]
    bad.write_bytes(b'not an image at all' * 10)
    for workers in (0, 2):
        proc = run_tool('train.py', DEMO_CONFIG, '--work-dir', tmp_path / 'w', *_options(coco, workers),
                        'train_cfg.max_epochs=1', check=False)
        assert proc.returncode == 2 and 'Traceback' not in proc.stderr, proc.stderr[-2000:]
        line, = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
        assert str(bad) in line and '--skip-unreadable-images' in line
    proc = run_tool('train.py', DEMO_CONFIG, '--work-dir', tmp_path / 'w2', *_options(coco, 0),
                    'train_cfg.max_epochs=2', '--skip-unreadable-images')
    log = proc.stdout + proc.stderr
    assert f'skipped unreadable image {bad}' in log and '2 skipped so far' in log
    assert (tmp_path / 'w2' / 'epoch_2.pth').is_file()


def test_demo_images_decode():
    """The corrupted-file test above relies on cv2 refusing garbage; a real image decodes."""
    ok, buf = cv2.imencode('.png', np.zeros((4, 4, 3), np.uint8))
    assert ok and cv2.imdecode(np.frombuffer(b'not an image', np.uint8), cv2.IMREAD_COLOR) is None
