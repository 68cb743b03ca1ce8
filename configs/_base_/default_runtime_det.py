# mmdet's runtime (default_scope='mmdet', hooks, DetLocalVisualizer) plus vdense's models.
_base_ = 'mmdet::_base_/default_runtime.py'
custom_imports = dict(imports=['vdense.models'], allow_failed_imports=False)
