# UperNet, Swin-S backbone, ADE20K 160k iterations at 512x512: AdamW lr 6e-5, wd 0.01, 1500-iteration
# warm-up, poly; auxiliary FCN head on stage 3 (Swin's recipe).
# Pretrained: the official ImageNet-1K release (microsoft/Swin-Transformer), loaded as released.
_base_ = [
    '_base_/models/upernet.py', '_base_/datasets/ade20k.py',
    '_base_/schedules/schedule_160k.py', '_base_/default_runtime_seg.py',
]
model = dict(
    backbone=dict(_delete_=True, type='vdense.Swin', out_indices=(0, 1, 2, 3), arch='s',
                  drop_path_rate=0.3,  # mmdet's/mmseg's drop path
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/swin_small_patch4_window7_224.pth')),
    decode_head=dict(in_channels=[96, 192, 384, 768]),
    auxiliary_head=dict(in_channels=384))
