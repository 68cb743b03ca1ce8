"""Missing image files found before the first iteration, not when a dataloader worker first reaches one."""
import os.path as osp
from typing import Iterator, List, Tuple

from mmengine.hooks import Hook

from vdense.data.checks import DatasetNotFoundError
from vdense.registry import HOOKS

_PATH_KEYS = ('img_path', 'seg_map_path')


def _leaf_datasets(dataset) -> Iterator:
    """The datasets holding samples, under wrappers (Concat/Repeat/ClassBalanced, vdense's epoch seeding)."""
    if hasattr(dataset, 'datasets'):
        for d in dataset.datasets:
            yield from _leaf_datasets(d)
    elif hasattr(dataset, 'dataset') and not hasattr(dataset, 'get_data_info'):
        yield from _leaf_datasets(dataset.dataset)
    elif hasattr(dataset, 'get_data_info'):
        yield dataset
    elif hasattr(dataset, 'dataset'):
        yield from _leaf_datasets(dataset.dataset)


def missing_files(dataset) -> Tuple[List[str], int]:
    """(files the dataset's samples name that do not exist, files named)."""
    missing, total = [], 0
    for leaf in _leaf_datasets(dataset):
        for i in range(len(leaf)):
            info = leaf.get_data_info(i)
            for key in _PATH_KEYS:
                path = info.get(key)
                if isinstance(path, str) and '://' not in path:
                    total += 1
                    if not osp.exists(path):
                        missing.append(path)
    return missing, total


def check_image_files(dataset, loader: str) -> None:
    missing, total = missing_files(dataset)
    if missing:
        shown = ', '.join(missing[:3]) + (f' (+{len(missing) - 3} more)' if len(missing) > 3 else '')
        raise DatasetNotFoundError(f'{loader}: {len(missing)} of the {total} files its annotations name are missing: '
                                   f'{shown}. Restore them, or remove those samples from the annotations')


@HOOKS.register_module()
class ImageFilesCheckHook(Hook):
    """Checks that every image (and label map) the train/val/test annotations name exists, once the datasets are
    built and before the first iteration; a missing one stops the run with the counts and the first names."""

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        check_image_files(runner.train_dataloader.dataset, 'train_dataloader')
        if runner.val_loop is not None and hasattr(runner.val_loop, 'dataloader'):
            check_image_files(runner.val_loop.dataloader.dataset, 'val_dataloader')

    def before_test(self, runner) -> None:
        check_image_files(runner.test_loop.dataloader.dataset, 'test_dataloader')
