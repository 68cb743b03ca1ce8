"""mmcv 2.1.0's compiled ops on torch and torchvision kernels, so mmcv installs without compiling anything.

mmcv's op modules load their kernels with ``mmcv.utils.ext_loader.load_ext('_ext', [...])``, i.e.
``importlib.import_module('mmcv._ext')``. The startup hook of an installed vdense (site_hook.py: in every
interpreter of its environment) and ``install()`` (run on ``import vdense``) append a finder to ``sys.meta_path``
that answers only the name ``mmcv._ext`` and only when nothing before it did: where mmcv's compiled extension is
installed, the normal path finder finds it first and it is used, untouched. Otherwise ``mmcv._ext`` is the module
in ``vdense/ops/ext.py``:

- ``nms``, ``roi_align_forward``/``roi_align_backward`` (``pool_mode='avg'``), ``sigmoid_focal_loss_forward``/
  ``sigmoid_focal_loss_backward``, ``get_compiler_version``/``get_compiling_cuda_version``: torchvision's CPU/CUDA
  kernels or torch, with mmcv's argument conventions and numerics (tests/test_ops.py, golden outputs recorded
  from the compiled ops in tests/data/ops/);
- every other name: a callable that raises :class:`MissingKernelError` with one line naming the op and how to
  get mmcv's compiled ops, so that all ``mmcv.ops`` modules still import (mmdet and mmseg import dozens).

Nothing is written into mmcv's files: uninstalling vdense leaves mmcv as it was.
"""
from . import ext, site_hook  # noqa: F401  (ext: the package attribute, also when the startup hook loaded it)
from .ext import COMPILED_OPS_HINT, MissingKernelError


def install() -> None:
    """Registers the ``mmcv._ext`` finder (idempotent; the startup hook of an installed vdense already did). An
    uncaught :class:`MissingKernelError` then ends the program with its one line instead of a traceback."""
    site_hook.register()
    site_hook.install_excepthook()


def kernels_in_use() -> str:
    """'compiled' when ``mmcv._ext`` is mmcv's own extension, 'vdense' when it is served by this package."""
    import importlib
    served = importlib.import_module('mmcv._ext')
    return 'vdense' if getattr(served, '__vdense_kernels__', False) else 'compiled'


def compiled_ops_installed() -> bool:
    """Whether mmcv's compiled extension (``mmcv/_ext.*``) is among mmcv's installed files, without importing it."""
    import importlib.metadata
    try:
        files = importlib.metadata.files('mmcv') or []
    except importlib.metadata.PackageNotFoundError:
        return False
    return any(f.name.startswith('_ext.') and f.parent.name == 'mmcv' for f in files)


install()  # on import: vdense/__init__.py imports this package before anything can import mmcv.ops

__all__ = ['COMPILED_OPS_HINT', 'MissingKernelError', 'install', 'kernels_in_use', 'compiled_ops_installed']
