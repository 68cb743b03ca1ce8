"""vdense: hierarchical vision transformers for dense prediction on the OpenMMLab stack."""
# The order matters: ops registers the mmcv._ext hook before anything can import mmcv.ops.
# isort: off
from . import ops  # noqa: F401  (first: serves mmcv._ext on torch/torchvision where mmcv's compiled ops are absent)
from . import compat  # noqa: F401  (patches the frozen stack for today's torch; see compat.py)
from .engine.checkpoint_reader import install_checkpoint_reader
from .version import __version__
# isort: on

install_checkpoint_reader()  # every local checkpoint mmengine reads is read as data, with one-line errors

__all__ = ['__version__']
