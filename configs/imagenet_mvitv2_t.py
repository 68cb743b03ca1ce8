# ImageNet-1K classification, MViTv2-T (global attention, no Hwin), 300 epochs: the MViTv2 recipe as mmpretrain
# reproduces it: AdamW lr 2e-3 at batch 2048 (here 1e-3 at 1024), wd 0.05, 70 warm-up epochs, cosine, grad clip 1,
# RandAugment, Mixup/CutMix, label smoothing, random erasing, drop path 0.1.
_base_ = [
    '_base_/models/classifier.py', '_base_/datasets/imagenet.py',
    '_base_/schedules/schedule_300e.py', '_base_/default_runtime_cls.py',
]
model = dict(
    backbone=dict(_delete_=True, type='vdense.MViT', arch='t', out_indices=(3,), drop_path_rate=0.1),
    head=dict(in_channels=768))
optim_wrapper = dict(clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=70, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=70, end=300),
]
