"""vdense's registries: children of mmengine's roots, so any OpenMMLab project builds ``type='vdense.X'``."""
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='vdense', locations=['vdense.models'])
