"""Building a config's model outside the Runner (analysis tools, tests), as the Runner itself would build it."""
import copy
import importlib

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


def build_model_from_config(cfg: Config, pretrained: bool = False):
    """The config's model in its own scope (mmdet/mmseg/mmpretrain), custom imports done, the top-level
    ``data_preprocessor`` handed over as the Runner does, SyncBN as BN in one process; weights initialised."""
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
    model.init_weights()
    return model
