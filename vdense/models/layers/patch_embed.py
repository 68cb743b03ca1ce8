"""Convolutional patch embeddings."""
import torch
import torch.nn as nn


class ConvPatchEmbed(nn.Module):
    """Conv2d (optionally overlapping) + LayerNorm, NCHW in, channels-last (B, H', W', C) out.

    The output size is whatever the convolution gives (ceil(H / stride) with ``padding = (kernel - stride) // 2``
    style overlap), so any input size works.
    """

    def __init__(self, in_channels: int, embed_dim: int, kernel_size: int, stride: int, padding: int,
                 norm_layer=nn.LayerNorm):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, embed_dim, kernel_size, stride, padding)
        self.norm = norm_layer(embed_dim) if norm_layer is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(x).permute(0, 2, 3, 1))
