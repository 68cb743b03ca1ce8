"""Importing this registers every vdense model in ``vdense.registry.MODELS`` (scope ``vdense``).

Other OpenMMLab projects use it through ``custom_imports=dict(imports=['vdense.models'])`` and
``type='vdense.ScalableViT'``.
"""
import vdense  # noqa: F401  (compat fixes first)

from .backbones import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
