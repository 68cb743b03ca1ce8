from .base import HierarchicalBackbone
from .mvit import MViT
from .scalable_vit import ScalableViT
from .swin import Swin

__all__ = ['HierarchicalBackbone', 'MViT', 'ScalableViT', 'Swin']
