"""Position-encoding generator (PEG, Chu et al., "Conditional Positional Encodings", arXiv 2102.10882)."""
import torch
import torch.nn as nn


class PositionEncodingGenerator(nn.Module):
    """``x + DWConv3x3(x)`` on a channels-last (B, H, W, C) map.

    ``proj`` is a one-element Sequential so that the authors' checkpoint keys (``proj.0.*``) load unchanged.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Sequential(nn.Conv2d(dim, dim, kernel_size=3, padding=1, bias=True, groups=dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.proj(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
