"""ScalableViT's ImageNet head, for mmpretrain's ImageClassifier: the authors' released checkpoints carry it."""
from typing import Tuple

import torch
import torch.nn as nn
from mmpretrain.models.heads import ClsHead

from vdense.registry import MODELS


@MODELS.register_module()
class ScalableViTClsHead(ClsHead):
    """Pooled features -> Linear(C, 4096) -> LayerNorm -> GELU -> Linear(4096, classes).

    In the authors' code the final LayerNorm and the mean pooling come before it; in vdense they are the backbone's
    last output norm (``norm3``) and mmpretrain's ``GlobalAveragePooling`` neck. Keys ``head.{0,1,3}`` as theirs.
    """

    def __init__(self, num_classes: int, in_channels: int, hidden_channels: int = 4096, layer_norm_eps: float = 1e-6,
                 **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.head = nn.Sequential(nn.Linear(in_channels, hidden_channels),
                                  nn.LayerNorm(hidden_channels, eps=layer_norm_eps), nn.GELU(),
                                  nn.Linear(hidden_channels, num_classes))

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return feats[-1]

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return self.head(self.pre_logits(feats))
