"""The reference implementations vdense is compared with, built one way for the parity tests and tools/benchmark.py.

Each builder returns the reference backbone with random weights (no download), in its own code's layout; callers
perturb or initialise it and convert its weights into ours. Imports are local: each reference package is optional.
"""
import torch


def mmdet_swin_t() -> torch.nn.Module:
    """mmdet's Swin-T (window 7, the four stage outputs through its output norms)."""
    from mmdet.models.backbones import SwinTransformer
    return SwinTransformer(embed_dims=96, depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24], window_size=7,
                           drop_path_rate=0., out_indices=(0, 1, 2, 3))


def timm_swin_t(**kwargs) -> torch.nn.Module:
    """timm's ``swin_tiny_patch4_window7_224`` (official layout); ``kwargs`` go to ``timm.create_model``."""
    import timm
    return timm.create_model('swin_tiny_patch4_window7_224', pretrained=False, **kwargs)


def timm_mvitv2_t(**kwargs) -> torch.nn.Module:
    """timm's ``mvitv2_tiny`` (global attention, rel-pos tables for 224x224)."""
    import timm
    return timm.create_model('mvitv2_tiny', pretrained=False, **kwargs)


def mmpretrain_mvit(arch='tiny', **kwargs) -> torch.nn.Module:
    """mmpretrain's MViT with its four stage outputs."""
    from mmpretrain.models.backbones import MViT
    return MViT(arch=arch, out_scales=[0, 1, 2, 3], **kwargs)
