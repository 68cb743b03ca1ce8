# mmseg's runtime (default_scope='mmseg', hooks) plus vdense's models and drawer.
_base_ = 'mmseg::_base_/default_runtime.py'
custom_imports = dict(imports=['vdense.models'], allow_failed_imports=False)
# mmseg's SegLocalVisualizer with titled ground-truth / prediction panels (same arguments).
visualizer = dict(type='vdense.SegVisualizer')
