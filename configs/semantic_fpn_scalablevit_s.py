# Semantic FPN, ScalableViT-S backbone, ADE20K 80k iterations at 512x512 (PVT/Twins recipe).
# Pretrained: the authors' ImageNet-1K checkpoint (github Yangr116/ScalableViT), loaded as released.
_base_ = [
    '_base_/models/semantic_fpn.py', '_base_/datasets/ade20k.py',
    '_base_/schedules/schedule_80k.py', '_base_/default_runtime_seg.py',
]
model = dict(
    backbone=dict(_delete_=True, type='vdense.ScalableViT', out_indices=(0, 1, 2, 3), arch='s',
                  drop_path_rate=0.2,  # drop path: a guess, the authors did not publish theirs
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/scalablevit_s_in1k.pth')),
    neck=dict(in_channels=[64, 128, 256, 512]))
