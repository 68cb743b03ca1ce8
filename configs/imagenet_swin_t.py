# ImageNet-1K classification, Swin-T, 300 epochs at batch 1024 (128 x 8 GPUs):
# the official recipe (microsoft/Swin-Transformer):
# AdamW lr 1e-3, wd 0.05, cosine, 5 warm-up epochs, grad clip 5, RandAugment, Mixup/CutMix, label smoothing, random
# erasing, drop path 0.2.
# `tools/test.py` evaluates the official release (swin_*_patch4_window7_224.pth, key `model`) as is.
_base_ = [
    '_base_/models/classifier.py', '_base_/datasets/imagenet.py',
    '_base_/schedules/schedule_300e.py', '_base_/default_runtime_cls.py',
]
model = dict(
    backbone=dict(type='vdense.Swin', arch='t', out_indices=(3,), drop_path_rate=0.2),
    head=dict(in_channels=768))
