"""Up-front checks that turn "file not found" deep inside a dataloader worker into one actionable message."""
import os.path as osp
from typing import Iterable, List

DEMO_HINT = ('No dataset at hand? `make demo` generates a small data set and trains and evaluates on it '
             '(configs/demo/).')

LAYOUTS = {
    'CocoDataset': ('COCO 2017 (MMDetection layout)', """\
  {root}
    annotations/instances_train2017.json
    annotations/instances_val2017.json
    train2017/000000000009.jpg ...
    val2017/000000000139.jpg ...
  Get it from cocodataset.org (2017 train/val images + annotations), or link an existing copy:
    ln -s /path/to/coco {root_noslash}"""),
    'ADE20KDataset': ('ADE20K (ADEChallengeData2016, MMSegmentation layout)', """\
  {root}
    images/training/*.jpg        annotations/training/*.png
    images/validation/*.jpg      annotations/validation/*.png
  Get ADEChallengeData2016.zip from the MIT Scene Parsing benchmark, or link it:
    ln -s /path/to/ADEChallengeData2016 {root_noslash}"""),
    'ImageNet': ('ImageNet-1K (MMPretrain layout)', """\
  {root}
    train/n01440764/*.JPEG ...           (one folder per class)
    val/n01440764/*.JPEG ...             (or val/*.JPEG with meta/val.txt)
    meta/train.txt  meta/val.txt         (optional: "relative/path.JPEG label" per line)
  Get ILSVRC2012 from image-net.org, or link it:  ln -s /path/to/imagenet {root_noslash}"""),
}


class DatasetNotFoundError(FileNotFoundError):
    pass


def _datasets(dataset_cfg) -> Iterable[dict]:
    """The leaf dataset configs under wrappers (RepeatDataset, ConcatDataset, ClassBalancedDataset, ...)."""
    if dataset_cfg is None:
        return
    if 'datasets' in dataset_cfg:
        for d in dataset_cfg['datasets']:
            yield from _datasets(d)
    elif 'dataset' in dataset_cfg:
        yield from _datasets(dataset_cfg['dataset'])
    else:
        yield dataset_cfg


def _expected_paths(ds: dict) -> List[str]:
    root = ds.get('data_root') or ''
    paths = []
    if ds.get('ann_file'):
        paths.append(osp.join(root, ds['ann_file']))
    prefix = ds.get('data_prefix') or {}
    if isinstance(prefix, str):
        prefix = {'img': prefix}
    for value in prefix.values():
        if isinstance(value, str) and value:
            paths.append(osp.join(root, value))
    if not paths and root:
        paths.append(root)
    return paths


def check_datasets(cfg, loaders=('train_dataloader', 'val_dataloader')) -> None:
    """Raises :class:`DatasetNotFoundError` naming the expected layout when a configured dataset is missing."""
    for loader in loaders:
        loader_cfg = cfg.get(loader)
        if not loader_cfg:
            continue
        for ds in _datasets(loader_cfg.get('dataset')):
            missing = [p for p in _expected_paths(ds) if '://' not in p and not osp.exists(p)]
            if not missing:
                continue
            root = ds.get('data_root') or osp.dirname(missing[0])
            name, layout = LAYOUTS.get(ds.get('type', ''), (ds.get('type', 'dataset'), '  {root}'))
            raise DatasetNotFoundError(
                f'{name} not found: {", ".join(missing)} missing ({loader}).\n'
                f'Expected layout:\n{layout.format(root=root, root_noslash=root.rstrip("/"))}\n'
                f'Elsewhere on disk? --cfg-options {loader}.dataset.data_root=/path/to/data/\n{DEMO_HINT}')


def _pretrained_checkpoints(node, path=''):
    if isinstance(node, dict):
        if node.get('type') == 'Pretrained' and isinstance(node.get('checkpoint'), str):
            yield path, node['checkpoint']
        for k, v in node.items():
            yield from _pretrained_checkpoints(v, f'{path}.{k}' if path else k)
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from _pretrained_checkpoints(v, f'{path}.{i}')


def check_pretrained(cfg) -> None:
    """Raises FileNotFoundError when a ``Pretrained`` init points at a local file that is not there."""
    for key, ckpt in _pretrained_checkpoints(cfg.get('model', {}), 'model'):
        if '://' in ckpt or ckpt.startswith(('torchvision:', 'open-mmlab:', 'mmcls:', 'openmmlab:')):
            continue
        if not osp.exists(ckpt):
            raise FileNotFoundError(
                f'pretrained weights not found: {ckpt} ({key}).\n'
                f'Put the authors\' ImageNet checkpoint there (see README, "Pretrained weights"): the official '
                f'.pth/.pyth layouts load as released. Or point elsewhere: --cfg-options {key}.checkpoint=/path.pth\n'
                f'To train from scratch instead: --cfg-options {key.rsplit(".", 1)[0]}.init_cfg=None')
