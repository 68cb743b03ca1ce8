"""Up-front checks that turn "file not found" deep inside a dataloader worker into one actionable message."""
import os
import os.path as osp
from typing import Iterable, List

DEMO_HINT = ('No dataset at hand? `make demo` generates a small data set and trains and evaluates on it '
             '(configs/demo/).')

# The standard layouts, for a config that points at one (data_root not the generated demo data).
LAYOUTS = {
    'CocoDataset': ('COCO 2017', 'MMDetection layout: annotations/instances_{{train,val}}2017.json, train2017/, '
                    'val2017/; get it from cocodataset.org or link a copy: ln -s /path/to/coco {root}'),
    'ADE20KDataset': ('ADE20K', 'ADEChallengeData2016 layout: images/{{training,validation}}/*.jpg, '
                      'annotations/{{training,validation}}/*.png; get it from the MIT Scene Parsing benchmark or '
                      'link it: ln -s /path/to/ADEChallengeData2016 {root}'),
    'ImageNet': ('ImageNet-1K', 'MMPretrain layout: train/<class>/*.JPEG, val/<class>/*.JPEG (or val/*.JPEG with '
                 'meta/val.txt); get ILSVRC2012 from image-net.org or link it: ln -s /path/to/imagenet {root}'),
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


def _found_elsewhere(cfg, relative: str):
    """The folder, above the config file, from which the relative path ``relative`` exists (a tool run from
    another working directory than the clone's), or None."""
    here = osp.dirname(osp.abspath(cfg.filename)) if getattr(cfg, 'filename', None) else None
    while here and osp.dirname(here) != here:
        if osp.exists(osp.join(here, relative)):
            return here
        here = osp.dirname(here)
    return None


def check_datasets(cfg, loaders=('train_dataloader', 'val_dataloader')) -> None:
    """Raises :class:`DatasetNotFoundError` when a configured data set is missing, in one line naming the config's
    own ``data_root``/``ann_file``, the working directory they are relative to, and the way out: the folder to run
    from, the generator (demo data) or the standard layout (COCO, ADE20K, ImageNet)."""
    for loader in loaders:
        loader_cfg = cfg.get(loader)
        if not loader_cfg:
            continue
        for ds in _datasets(loader_cfg.get('dataset')):
            missing = [p for p in _expected_paths(ds) if '://' not in p and not osp.exists(p)]
            if not missing:
                continue
            root = ds.get('data_root') or ''
            kind = str(ds.get('type', 'dataset')).split('.')[-1]
            setting = ', '.join(f'{key} {ds[key]!r}' for key in ('data_root', 'ann_file') if ds.get(key))
            where = (f'relative to the working directory {os.getcwd()}' if not osp.isabs(missing[0])
                     else 'an absolute path')
            message = f'{loader}.dataset ({kind}): {missing[0]} not found ({setting}; {where})'
            elsewhere = _found_elsewhere(cfg, missing[0]) if not osp.isabs(missing[0]) else None
            set_root = f'--cfg-options {loader}.dataset.data_root=/path/to/data/'
            if elsewhere:
                message += (f'; it is under {elsewhere}: run from there, or set --cfg-options '
                            f'{loader}.dataset.data_root={osp.join(elsewhere, root)}')
            elif 'demo' in root:
                message += f'; generate it: python tools/make_demo_data.py (or make demo); elsewhere: {set_root}'
            elif kind in LAYOUTS:
                name, layout = LAYOUTS[kind]
                message += (f'; {name} expected ({layout.format(root=root.rstrip("/") or "data/")}); elsewhere: '
                            f'{set_root}. {DEMO_HINT}')
            else:
                message += f'; elsewhere: {set_root}. {DEMO_HINT}'
            raise DatasetNotFoundError(message)


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
