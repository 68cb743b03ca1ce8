"""vdense's registries: children of mmengine's roots, so any OpenMMLab project builds ``type='vdense.X'``."""
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='vdense', locations=['vdense.models'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='vdense', locations=['vdense.engine'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, scope='vdense', locations=['vdense.engine'])
# Only the counting CocoDataset so far (vdense/data/counted_coco.py): imported when a config names it.
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope='vdense', locations=['vdense.data.counted_coco'])
# The test-time drawers (vdense/visualization): type='vdense.DetVisualizer', 'vdense.SegVisualizer', ...
VISUALIZERS = Registry('visualizer', parent=MMENGINE_VISUALIZERS, scope='vdense', locations=['vdense.visualization'])
