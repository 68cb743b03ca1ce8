"""Classification heads the families' released checkpoints need (registered when mmpretrain is installed)."""
try:
    import mmpretrain  # noqa: F401
except ImportError:  # detection/segmentation-only installs build the backbones without it
    __all__ = []
else:
    from .scalable_vit_head import ScalableViTClsHead

    __all__ = ['ScalableViTClsHead']
