"""Convolutional patch embeddings."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvPatchEmbed(nn.Module):
    """Conv2d (optionally overlapping) + LayerNorm, NCHW in (channels-last with ``channels_last_input``: between
    stages), channels-last (B, H', W', C) out.

    With ``pad_to_stride`` the input is zero-padded at the bottom/right to a multiple of the stride first
    (mmdet's "corner" adaptive padding, as Swin needs for non-overlapping patches), so no border pixel is lost.
    Otherwise the output size is whatever the convolution gives; any input size works either way.
    """

    def __init__(self, in_channels: int, embed_dim: int, kernel_size: int, stride: int, padding: int = 0,
                 norm_layer=nn.LayerNorm, pad_to_stride: bool = False, channels_last_input: bool = False):
        super().__init__()
        self.stride = stride
        self.pad_to_stride = pad_to_stride
        self.channels_last_input = channels_last_input
        self.proj = nn.Conv2d(in_channels, embed_dim, kernel_size=kernel_size, stride=stride, padding=padding)
        self.norm = norm_layer(embed_dim) if norm_layer is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last_input:
            x = x.permute(0, 3, 1, 2)
        if self.pad_to_stride:
            # non-negative operands only: a traced (ONNX) modulo of a negative int can take the other sign
            pad_h = (self.stride - x.shape[2] % self.stride) % self.stride
            pad_w = (self.stride - x.shape[3] % self.stride) % self.stride
            if pad_h or pad_w:
                x = F.pad(x, (0, pad_w, 0, pad_h))
        return self.norm(self.proj(x).permute(0, 2, 3, 1))
