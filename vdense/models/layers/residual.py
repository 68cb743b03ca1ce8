"""Residual connections that do not allocate a new activation-sized tensor."""
import torch


def add_residual(shortcut: torch.Tensor, branch: torch.Tensor) -> torch.Tensor:
    """``shortcut + branch``, written into ``branch``'s memory (bitwise the same sum).

    Each residual of a block otherwise allocates a fresh activation-sized tensor; on CPUs large fresh tensors are
    page-faulted in on every forward, which costs as much as the add itself. ``branch`` must be a tensor the
    caller just produced and owns (the output of a Linear, a gather or DropPath, whose backward does not need it:
    autograd's version check raises otherwise, it never silently corrupts gradients). Under autocast the branch
    may be in lower precision than the residual stream: then the sum is taken out of place, in the wider dtype.
    """
    if branch.dtype != shortcut.dtype or branch.shape != shortcut.shape:
        return shortcut + branch
    return branch.add_(shortcut)
