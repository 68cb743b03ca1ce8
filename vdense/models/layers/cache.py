"""Caching for the index tables and masks the layers build once per size."""
import functools

import torch


def cpu_cached(maxsize: int):
    """A per-arguments cache (least recently built dropped first) for the tables the layers build once per size.

    - Built on the CPU whatever default device is active, the function then moving its result where it says: a
      model constructed under ``torch.device('meta')`` (shape-only, e.g. to identify a checkpoint) must not leave
      meta tensors in a cache that real models read later.
    - Built outside ``torch.inference_mode()``: a first call in inference mode must not leave inference tensors
      that a later training pass cannot save for backward.
    - A hit is a plain dict lookup, which ``torch.compile`` traces (the tables become graph inputs); only a miss
      runs the building code, which is data-dependent and kept out of the graph.
    - Under ``torch.jit.trace`` (ONNX export) nothing is cached or looked up: the tables are built from the traced
      sizes, so the exported graph builds them for whatever input size it is given.
    """
    def decorator(fn):
        cache = {}

        @torch.compiler.disable
        def build(key, args, kwargs):
            with torch.device('cpu'), torch.inference_mode(False):
                value = fn(*args, **kwargs)
            if len(cache) >= maxsize:
                del cache[next(iter(cache))]
            cache[key] = value
            return value

        @functools.wraps(fn)
        def lookup(*args, **kwargs):
            if torch.jit.is_tracing():
                return fn(*args, **kwargs)
            key = (args, tuple(kwargs.items()))
            value = cache.get(key)
            return build(key, args, kwargs) if value is None else value

        lookup.cache_clear = cache.clear
        return lookup
    return decorator
