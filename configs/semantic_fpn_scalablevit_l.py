# Semantic FPN, ScalableViT-L backbone, ADE20K 80k iterations at 512x512 (PVT/Twins recipe).
# Pretrained: the authors' ImageNet-1K checkpoint (github Yangr116/ScalableViT), loaded as released.
_base_ = [
    '_base_/models/semantic_fpn.py', '_base_/datasets/ade20k.py',
    '_base_/schedules/schedule_80k.py', '_base_/default_runtime_seg.py',
]
model = dict(
    backbone=dict(_delete_=True, type='vdense.ScalableViT', out_indices=(0, 1, 2, 3), arch='l',
                  drop_path_rate=0.3,  # drop path: a guess, the authors did not publish theirs
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/scalablevit_l_in1k.pth')),
    neck=dict(in_channels=[128, 256, 512, 1024]))
