# mmpretrain's runtime (default_scope='mmpretrain', hooks, UniversalVisualizer) plus vdense's models.
_base_ = 'mmpretrain::_base_/default_runtime.py'
custom_imports = dict(imports=['vdense.models'], allow_failed_imports=False)
