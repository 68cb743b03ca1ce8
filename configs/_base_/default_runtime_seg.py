# mmseg's runtime (default_scope='mmseg', hooks, SegLocalVisualizer) plus vdense's models.
_base_ = 'mmseg::_base_/default_runtime.py'
custom_imports = dict(imports=['vdense.models'], allow_failed_imports=False)
