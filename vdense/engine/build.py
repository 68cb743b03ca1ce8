"""Building a config's model and a synthetic batch for it outside the Runner (analysis tools, benchmarks, tests),
as the Runner itself would build them."""
import copy
import importlib

import torch
from mmengine.config import Config


def strip_pretrained(node) -> None:
    """Drops every ``init_cfg=dict(type='Pretrained', ...)``: for shape/FLOP analysis and tests no weights are read."""
    if isinstance(node, dict):
        if isinstance(node.get('init_cfg'), dict) and node['init_cfg'].get('type') == 'Pretrained':
            node['init_cfg'] = None
        for value in node.values():
            strip_pretrained(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            strip_pretrained(value)


def build_model_from_config(cfg: Config, pretrained: bool = False, init_weights: bool = True):
    """The config's model in its own scope (mmdet/mmseg/mmpretrain), custom imports done, the top-level
    ``data_preprocessor`` handed over as the Runner does, SyncBN as BN in one process; weights initialised unless
    ``init_weights`` is False (e.g. a model built on the meta device, for its parameter names and shapes)."""
    from mmengine.registry import MODELS, init_default_scope

    from .cli import fall_back_from_sync_bn
    cfg = copy.deepcopy(cfg)  # the caller's config is left as it was
    if not pretrained:
        strip_pretrained(cfg.model)
    fall_back_from_sync_bn(cfg)
    if cfg.get('data_preprocessor') is not None:
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    init_default_scope(cfg.default_scope)
    for module in cfg.get('custom_imports', {}).get('imports', []):
        importlib.import_module(module)
    model = MODELS.build(cfg.model)
    if init_weights:
        model.init_weights()
    return model


def synthetic_batch(cfg: Config, size: int = 128, batch_size: int = 2) -> dict:
    """``batch_size`` random ``size`` x ``size`` images with the targets the config's task trains on (one box and
    mask per image, a random label map, or a class label), as a dataloader hands them to ``model.train_step``."""
    inputs = [torch.randint(0, 255, (3, size, size), dtype=torch.uint8) for _ in range(batch_size)]
    if cfg.default_scope == 'mmdet':
        head = cfg.model.get('roi_head', cfg.model).get('bbox_head', {})
        head = head[-1] if isinstance(head, (list, tuple)) else head  # Cascade R-CNN: one box head per stage
        return dict(inputs=inputs, data_samples=[_det_sample(size, head.get('num_classes', 80))
                                                 for _ in range(batch_size)])
    if cfg.default_scope == 'mmseg':
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample
        samples = []
        for _ in range(batch_size):
            s = SegDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size)))
            s.gt_sem_seg = PixelData(data=torch.randint(0, cfg.model.decode_head.num_classes, (1, size, size)))
            samples.append(s)
        return dict(inputs=inputs, data_samples=samples)
    from mmpretrain.structures import DataSample
    return dict(inputs=inputs, data_samples=[DataSample().set_gt_label(i % 2) for i in range(batch_size)])


def _det_sample(size: int, num_classes: int):
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData
    s = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size),
                                    batch_input_shape=(size, size), scale_factor=(1., 1.)))
    x0, y0, x1, y1 = (int(size * f) for f in (0.08, 0.15, 0.55, 0.7))
    mask = torch.zeros(1, size, size, dtype=torch.uint8)
    mask[:, y0:y1, x0:x1] = 1
    s.gt_instances = InstanceData(bboxes=torch.tensor([[float(x0), float(y0), float(x1), float(y1)]]),
                                  labels=torch.tensor([num_classes - 1]), masks=BitmapMasks(mask.numpy(), size, size))
    return s
