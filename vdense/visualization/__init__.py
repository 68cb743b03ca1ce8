"""Drawers for test-time predictions (``tools/test.py --show-dir``, ``make demo``'s ``vis/``, ``tools/infer.py``):
the OpenMMLab task visualizers with what a reader needs to trust the picture (the best prediction on top, scores
in percent, the ground-truth and prediction panels titled).

A config names one (configs/_base_/default_runtime_{det,seg,cls}.py do; the arguments are the parent's):

    visualizer = dict(type='vdense.DetVisualizer')   # or vdense.SegVisualizer, vdense.ClsVisualizer
"""
from importlib.util import find_spec

# vdense.registry.VISUALIZERS imports this package the first time a config names a vdense drawer; every drawer
# registers then (each subclasses its task's OpenMMLab visualizer: those of packages not installed are left out).
if find_spec('mmdet'):
    from .det_visualizer import DetVisualizer  # noqa: F401
if find_spec('mmseg'):
    from .seg_visualizer import SegVisualizer  # noqa: F401
if find_spec('mmpretrain'):
    from .cls_visualizer import ClsVisualizer  # noqa: F401
