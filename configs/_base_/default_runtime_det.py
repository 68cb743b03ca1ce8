# mmdet's runtime (default_scope='mmdet', hooks) plus vdense's models and drawer.
_base_ = 'mmdet::_base_/default_runtime.py'
custom_imports = dict(imports=['vdense.models'], allow_failed_imports=False)
# mmdet's DetLocalVisualizer with the best prediction drawn on top, scores in %, titled panels (same arguments).
visualizer = dict(type='vdense.DetVisualizer')
