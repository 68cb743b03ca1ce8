# mmpretrain's runtime (default_scope='mmpretrain', hooks) plus vdense's models and drawer.
_base_ = 'mmpretrain::_base_/default_runtime.py'
custom_imports = dict(imports=['vdense.models'], allow_failed_imports=False)
# mmpretrain's UniversalVisualizer with class names and scores in % (same arguments).
visualizer = dict(type='vdense.ClsVisualizer')
