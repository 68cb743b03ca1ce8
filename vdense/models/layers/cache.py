"""Caching for the index tables and masks the layers build once per size."""
import functools

import torch


def cpu_cached(maxsize: int):
    """``functools.lru_cache`` that builds on the CPU whatever default device is active, then lets the function move
    its result where it says. A model constructed under ``torch.device('meta')`` (shape-only, e.g. to identify a
    checkpoint) must not leave meta tensors in a cache that real models read later."""
    def decorator(fn):
        @functools.lru_cache(maxsize=maxsize)
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with torch.device('cpu'):
                return fn(*args, **kwargs)
        return wrapper
    return decorator
