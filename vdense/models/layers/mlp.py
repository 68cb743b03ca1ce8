"""Transformer feed-forward block."""
import torch
import torch.nn as nn

from . import cpu_inference


class Mlp(nn.Module):
    """Linear -> GELU -> Dropout -> Linear -> Dropout (timm naming: ``fc1``, ``fc2``).

    In CPU inference the tokens go through in row chunks (see ``cpu_inference``): the 4C-wide hidden never exists
    whole."""

    def __init__(self, in_features: int, hidden_features: int, out_features: int = None,
                 act_layer=nn.GELU, drop: float = 0.):
        super().__init__()
        out_features = out_features or in_features
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = act_layer()
        self.fc2 = nn.Linear(hidden_features, out_features)
        self.drop = nn.Dropout(drop)
        self.chunk_rows = cpu_inference.rows_per_chunk(4 * hidden_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.numel() // x.shape[-1]
        if cpu_inference.chunking_applies(x, rows, self.chunk_rows) and not (self.training and self.drop.p > 0):
            flat = cpu_inference.apply_in_row_chunks(self._forward, x.reshape(rows, x.shape[-1]), self.chunk_rows)
            return flat.view(*x.shape[:-1], flat.shape[-1])
        return self._forward(x)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        x = cpu_inference.activation(self.act, self.fc1(x))
        return self.drop(self.fc2(self.drop(x)))
