"""Everything that is only there to make CPU inference fast; the layers call it in one clearly named branch and
read like the papers otherwise.

- Row chunking (``rows_per_chunk``, ``chunking_applies``, ``apply_in_row_chunks``): a layer's widest intermediate
  never exists whole.
- ``activation``: GELU in place where nothing is recorded for autograd.

At detection resolutions the widest tensors of a block (the MLP's 4C hidden, the 3C qkv) are tens of MiB in
stage 1: glibc serves such sizes with fresh mmap'ed pages, and touching them costs page faults on every forward,
after which the next op reads them back from DRAM. Run over a few thousand rows at a time, the same ops keep their
intermediates in reused buffers small enough to stay in cache (Swin-T forward at 224x224x8: -7 to -12 % on 1
thread, -3 % on 2; at 800x1216: -7 % on 2 threads; peak memory -40 %).
Only where nothing is recorded for backward (autograd needs the whole intermediates) and only on the CPU (on a
GPU the big single kernels are what is fast); row-wise ops give the same rows (up to matmul blocking order).
"""
from typing import Callable

import torch
import torch.nn as nn

# About 8 MiB per intermediate chunk (Swin-T's stage-1 MLP: 5461 of its 25088 rows at 224x224x8): of 2, 8 and 32
# MiB the best on 1 and 2 threads (2 MiB slowed 2 threads: GEMMs too small to split); never under 512 tokens.
CHUNK_BYTES = 8 << 20
MIN_CHUNK_TOKENS = 512


def rows_per_chunk(widest_row_bytes: int, tokens_per_row: int = 1) -> int:
    """How many rows to process at a time when the widest intermediate row takes ``widest_row_bytes`` (a row
    being a token, or a window of ``tokens_per_row`` tokens)."""
    return max(-(-MIN_CHUNK_TOKENS // tokens_per_row), CHUNK_BYTES // max(1, widest_row_bytes))


def chunking_applies(x: torch.Tensor, rows: int, chunk_rows: int) -> bool:
    """Whether to run in chunks: CPU, nothing recorded for autograd, not traced, and more than one chunk."""
    return (x.device.type == 'cpu' and rows > chunk_rows and not (torch.is_grad_enabled() and x.requires_grad)
            and not torch.compiler.is_compiling() and not torch.jit.is_tracing())


def apply_in_row_chunks(fn: Callable[..., torch.Tensor], x: torch.Tensor, chunk_rows: int,
                        *row_aligned: torch.Tensor) -> torch.Tensor:
    """``fn(x, *row_aligned)`` computed ``chunk_rows`` rows (first dimension) at a time into one output.

    ``fn`` must act on each row independently; ``row_aligned`` tensors are sliced alongside ``x`` (a tensor whose
    first dimension is 1 is broadcast, passed whole to every chunk)."""
    rows = x.shape[0]
    out = None
    for start in range(0, rows, chunk_rows):
        end = min(start + chunk_rows, rows)
        extra = [t if t.shape[0] == 1 else t[start:end] for t in row_aligned]
        part = fn(x[start:end], *extra)
        if out is None:
            out = part.new_empty((rows,) + part.shape[1:])
        out[start:end] = part
    return out


def activation(act: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``act(x)``; a GELU runs in place when no autograd needs ``x`` (the MLP's hidden, the block's widest tensor:
    one activation-sized allocation saved per block)."""
    if type(act) is nn.GELU and not (torch.is_grad_enabled() and x.requires_grad):
        return torch.ops.aten.gelu_(x, approximate=act.approximate)
    return act(x)
