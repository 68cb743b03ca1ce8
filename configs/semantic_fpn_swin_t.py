# Semantic FPN, Swin-T backbone, ADE20K 80k iterations at 512x512 (PVT/Twins recipe; a guess: Swin's
# authors published UperNet only).
# Pretrained: the official ImageNet-1K release (microsoft/Swin-Transformer), loaded as released.
_base_ = [
    '_base_/models/semantic_fpn.py', '_base_/datasets/ade20k.py',
    '_base_/schedules/schedule_80k.py', '_base_/default_runtime_seg.py',
]
model = dict(
    backbone=dict(_delete_=True, type='vdense.Swin', out_indices=(0, 1, 2, 3), arch='t',
                  drop_path_rate=0.2,  # mmdet's/mmseg's drop path
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/swin_tiny_patch4_window7_224.pth')),
    neck=dict(in_channels=[96, 192, 384, 768]))
