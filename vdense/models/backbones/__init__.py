from .base import HierarchicalBackbone
from .scalable_vit import ScalableViT
from .swin import Swin

__all__ = ['HierarchicalBackbone', 'ScalableViT', 'Swin']
