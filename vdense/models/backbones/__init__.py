from .base import HierarchicalBackbone
from .scalable_vit import ScalableViT

__all__ = ['HierarchicalBackbone', 'ScalableViT']
