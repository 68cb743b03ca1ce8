"""mmcv 2.1.0's compiled ops on torch and torchvision kernels, so mmcv installs without compiling anything.

mmcv's op modules load their kernels with ``mmcv.utils.ext_loader.load_ext('_ext', [...])``, i.e.
``importlib.import_module('mmcv._ext')``. ``install()`` (run on ``import vdense``) appends a finder to
``sys.meta_path`` that answers only the name ``mmcv._ext`` and only when nothing before it did: where mmcv's
compiled extension is installed, the normal path finder finds it first and it is used, untouched. Otherwise
``mmcv._ext`` is the module in ``vdense/ops/ext.py``:

- ``nms``, ``roi_align_forward``/``roi_align_backward`` (``pool_mode='avg'``), ``sigmoid_focal_loss_forward``/
  ``sigmoid_focal_loss_backward``, ``get_compiler_version``/``get_compiling_cuda_version``: torchvision's CPU/CUDA
  kernels or torch, with mmcv's argument conventions and numerics (tests/test_ops.py, golden outputs recorded
  from the compiled ops in tests/data/ops/);
- every other name: a callable that raises :class:`MissingKernelError` with one line naming the op and how to
  get mmcv's compiled ops, so that all ``mmcv.ops`` modules still import (mmdet and mmseg import dozens).

Nothing is written into mmcv's files: uninstalling vdense leaves mmcv as it was.
"""
import sys

COMPILED_OPS_HINT = "install mmcv's compiled ops: make install MMCV_OPS=compiled"


class MissingKernelError(RuntimeError):
    """An mmcv op was called that has no torch/torchvision kernel in vdense and mmcv's compiled ops are absent."""


class _ExtFinder:
    """Serves ``mmcv._ext`` from vdense.ops.ext; appended last to ``sys.meta_path`` (a documented import hook,
    importlib.abc.MetaPathFinder), so the real compiled extension always wins where it is installed."""

    name = 'mmcv._ext'

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        import importlib.util
        return importlib.util.spec_from_loader(fullname, _ExtLoader(), origin='vdense.ops.ext')

    def invalidate_caches(self):
        pass


class _ExtLoader:

    def create_module(self, spec):
        return None  # default module creation

    def exec_module(self, module):
        from . import ext
        for name in ext.__all__:
            setattr(module, name, getattr(ext, name))
        module.__getattr__ = ext.missing_kernel
        module.__doc__ = ext.__doc__
        module.__vdense_kernels__ = True


def _one_line_excepthook(previous):
    def hook(exc_type, exc, tb):
        if isinstance(exc, MissingKernelError):
            print(f'error: {exc}', file=sys.stderr, flush=True)
            return
        previous(exc_type, exc, tb)
    hook.__vdense_missing_kernel__ = True
    return hook


def install() -> None:
    """Registers the ``mmcv._ext`` finder (idempotent). An uncaught :class:`MissingKernelError` then ends the
    program with its one line instead of a traceback."""
    if not any(isinstance(f, _ExtFinder) for f in sys.meta_path):
        sys.meta_path.append(_ExtFinder())
    if not getattr(sys.excepthook, '__vdense_missing_kernel__', False):
        sys.excepthook = _one_line_excepthook(sys.excepthook)


def kernels_in_use() -> str:
    """'compiled' when ``mmcv._ext`` is mmcv's own extension, 'vdense' when it is served by this package."""
    import importlib
    ext = importlib.import_module('mmcv._ext')
    return 'vdense' if getattr(ext, '__vdense_kernels__', False) else 'compiled'


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
