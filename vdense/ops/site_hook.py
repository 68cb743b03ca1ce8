"""The ``mmcv._ext`` import hook, in every interpreter of the environment vdense is installed in.

Installing vdense (``make install``, ``pip install``, editable or not; setup.py) also writes this file into
site-packages as the top-level module ``_vdense_mmcv_ext`` plus ``vdense_mmcv_ext.pth``, whose one line runs
:func:`register` at interpreter startup. So plain mmdet/mmseg/mmpretrain (and their tools with stock configs)
import without ``import vdense``; ``pip uninstall vdense`` removes both files. ``import vdense`` registers the same
hook (vdense/ops/__init__.py), for a clone that is used without being installed.

Startup cost is one object appended to ``sys.meta_path``: this module imports only the standard library and
nothing else until something imports ``mmcv._ext``. The finder is appended last, so mmcv's compiled extension
(found by the normal path finder inside ``mmcv/``) always wins where it is installed; vdense's kernels
(vdense/ops/ext.py) are loaded only where it is absent, without running ``vdense/__init__.py``: a plain mmdet run
gets the kernels and nothing else of vdense (no checkpoint reader, no warning filters).
"""
import sys

NAME = 'mmcv._ext'
KERNELS = 'vdense.ops.ext'
MARK = '__vdense_mmcv_ext__'  # on the finder: the hook may be registered from two copies of this file


def _kernels():
    """vdense/ops/ext.py as the module ``vdense.ops.ext``: the one ``import vdense`` made, or loaded from vdense's
    folder without importing the ``vdense`` package (ext.py has no relative imports for this reason); registered
    under its own name, so a later ``import vdense`` reuses it (one module, one MissingKernelError class)."""
    if KERNELS in sys.modules:
        return sys.modules[KERNELS]
    import importlib.util
    import os.path as osp
    spec = importlib.util.find_spec('vdense')  # locates the package without running vdense/__init__.py
    paths = [osp.join(p, 'ops', 'ext.py') for p in (spec.submodule_search_locations or [])] if spec else []
    path = next((p for p in paths if osp.isfile(p)), None)
    if path is None:
        raise ModuleNotFoundError(f"No module named '{NAME}': mmcv's compiled ops are not installed and vdense's "
                                  'kernels (vdense/ops/ext.py) are not importable', name=NAME)
    kspec = importlib.util.spec_from_file_location(KERNELS, path)
    module = importlib.util.module_from_spec(kspec)
    sys.modules[KERNELS] = module
    try:
        kspec.loader.exec_module(module)
    except BaseException:
        del sys.modules[KERNELS]
        raise
    return module


class MmcvExtFinder:
    """Answers only ``mmcv._ext`` and only when no finder before it did (it is appended last)."""

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if fullname != NAME:
            return None
        import importlib.util
        return importlib.util.spec_from_loader(fullname, _Loader(), origin=KERNELS)

    @classmethod
    def invalidate_caches(cls):
        pass


setattr(MmcvExtFinder, MARK, True)


class _Loader:

    def create_module(self, spec):
        return None  # default module creation

    def exec_module(self, module):
        ext = _kernels()
        for name in ext.__all__:
            setattr(module, name, getattr(ext, name))
        module.__getattr__ = ext.missing_kernel  # every other op imports, and fails with one line when called
        module.__doc__ = ext.__doc__
        module.__vdense_kernels__ = True
        install_excepthook()


def install_excepthook() -> None:
    """An uncaught ``MissingKernelError`` ends the program with its one line instead of a traceback."""
    previous = sys.excepthook
    if getattr(previous, MARK, False):
        return

    def hook(exc_type, exc, tb):
        ext = sys.modules.get(KERNELS)
        if ext is not None and isinstance(exc, ext.MissingKernelError):
            print(f'error: {exc}', file=sys.stderr, flush=True)
            return
        previous(exc_type, exc, tb)

    setattr(hook, MARK, True)
    sys.excepthook = hook


def register() -> None:
    """Appends the finder to ``sys.meta_path`` unless a copy of it is there (idempotent, import-cheap)."""
    if not any(getattr(f, MARK, False) for f in sys.meta_path):
        sys.meta_path.append(MmcvExtFinder)


# What setup.py writes into site-packages next to the copy of this file (named MODULE there).
MODULE = '_vdense_mmcv_ext'
PTH = 'vdense_mmcv_ext.pth'
PTH_LINE = f'import {MODULE}; {MODULE}.register()\n'
