"""Fixes the frozen OpenMMLab stack (mmengine 0.10.7, mmcv 2.1.0, mmdet 3.3.0) needs under torch >= 2.6.

Applied once on ``import vdense``; nothing here changes behaviour that was working.
"""
import warnings


def _allow_mmengine_checkpoint_globals() -> None:
    """torch >= 2.6 loads with ``weights_only=True``; mmengine 0.10.7 calls ``torch.load`` without the argument,
    so its own checkpoints (``--resume``, ``load_from``, ``tools/test.py``) fail on the message-hub history they
    hold. Allow-list exactly the classes mmengine stores there instead of switching the safety off."""
    import numpy as np
    import torch
    if not hasattr(torch.serialization, 'add_safe_globals'):
        return
    from mmengine.logging.history_buffer import HistoryBuffer
    safe = [HistoryBuffer, np.dtype, np.ndarray]
    # numpy scalars/dtypes appear in the history buffers and in `meta` (seed, iteration counters).
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    safe += [_reconstruct, scalar, type(np.dtype(np.float64)), type(np.dtype(np.float32)),
             type(np.dtype(np.int64)), type(np.dtype(np.int32))]
    torch.serialization.add_safe_globals([g for g in safe if g is not None])


def _quiet_stack_warnings() -> None:
    """mmdet/mmseg/mmpretrain emit deprecation warnings under this torch on every import and iteration;
    they are about the stack, not the user's run, and drown the training log."""
    for category, module in ((UserWarning, r'mmengine|mmcv|mmdet|mmseg|mmpretrain|torch\.functional'),
                             (DeprecationWarning, None), (FutureWarning, r'mmengine|mmcv|mmdet|mmseg|mmpretrain|timm')):
        if module is None:
            warnings.filterwarnings('ignore', category=category)
        else:
            warnings.filterwarnings('ignore', category=category, module=module)


_allow_mmengine_checkpoint_globals()
_quiet_stack_warnings()
