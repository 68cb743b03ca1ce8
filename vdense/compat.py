"""Fixes the frozen OpenMMLab stack (mmengine 0.10.7, mmcv 2.1.0, mmdet 3.3.0) needs under torch >= 2.6.

Applied once on ``import vdense``; nothing here changes behaviour that was working.
"""
import warnings


def _allow_mmengine_checkpoint_globals() -> None:
    """torch >= 2.6 loads with ``weights_only=True``; mmengine 0.10.7 calls ``torch.load`` without the argument,
    so its own checkpoints (``--resume``, ``load_from``, ``tools/test.py``) fail on the message-hub history they
    hold. Allow-list exactly what mmengine stores there instead of switching the safety off:

    - ``HistoryBuffer`` and the numpy arrays/scalars/dtypes inside it;
    - ``builtins.getattr``, which pickle uses for the statistics methods a HistoryBuffer keeps
      (``getattr(HistoryBuffer, 'min')``), mapped to a getattr that resolves nothing else: the real getattr
      would let a crafted file reach arbitrary objects from any allow-listed class.
    """
    import pickle

    import numpy as np
    import torch
    if not hasattr(torch.serialization, 'add_safe_globals'):
        return
    from mmengine.logging.history_buffer import HistoryBuffer
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    builtin_statistics = ('min', 'max', 'current', 'mean')

    def history_buffer_getattr(obj, name):
        if obj is HistoryBuffer and (name in builtin_statistics or name in HistoryBuffer._statistics_methods):
            return getattr(obj, name)
        raise pickle.UnpicklingError(f'getattr({obj!r}, {name!r}) in a checkpoint is not allowed by vdense: only '
                                     'mmengine HistoryBuffer statistics are; load with weights_only=False only '
                                     'if you trust the file')

    dtype_classes = {type(np.dtype(t)) for t in (np.float64, np.float32, np.float16, np.int64, np.int32, np.int8,
                                                  np.uint8, np.bool_)}
    torch.serialization.add_safe_globals([HistoryBuffer, np.dtype, np.ndarray, _reconstruct, scalar,
                                          *dtype_classes, (history_buffer_getattr, 'builtins.getattr')])


def _quiet_stack_warnings() -> None:
    """mmdet/mmseg/mmpretrain emit deprecation warnings under this torch on every import and iteration;
    they are about the stack, not the user's run, and drown the training log."""
    warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)
    for category, module in ((UserWarning, r'mmengine|mmcv|mmdet|mmseg|mmpretrain|torch\.functional'),
                             (DeprecationWarning, None), (FutureWarning, r'mmengine|mmcv|mmdet|mmseg|mmpretrain|timm')):
        if module is None:
            warnings.filterwarnings('ignore', category=category)
        else:
            warnings.filterwarnings('ignore', category=category, module=module)


def _resolve_forked_config_scopes() -> None:
    """``mmseg::path`` in a config names mmengine's package ``mmsegmentation`` (MODULE2PACKAGE), found by its
    distribution name. OneDL's fork installs the same import package as ``onedl-mmsegmentation``, so every
    ``mmseg::`` base config failed there with 'mmsegmentation is not installed'. Where only the ``onedl-`` distribution
    is installed, the scope resolves through the import package itself (mmengine's find_spec fallback)."""
    from importlib.metadata import PackageNotFoundError, distribution

    from mmengine.config import utils
    for module, package in list(utils.MODULE2PACKAGE.items()):
        try:
            distribution(package)
            continue
        except PackageNotFoundError:
            pass
        try:
            distribution(f'onedl-{package}')
        except PackageNotFoundError:
            continue
        utils.MODULE2PACKAGE[module] = module


_quiet_stack_warnings()  # first: importing mmengine below already warns
_allow_mmengine_checkpoint_globals()
_resolve_forked_config_scopes()
