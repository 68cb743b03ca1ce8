# Mask R-CNN, Swin-T backbone (all four stages into FPN), COCO 1x.
# Pretrained: the official ImageNet-1K release (microsoft/Swin-Transformer), loaded as released.
_base_ = [
    '_base_/models/mask_rcnn.py', '_base_/datasets/coco_instance.py',
    '_base_/schedules/schedule_1x.py', '_base_/default_runtime_det.py',
]
model = dict(
    backbone=dict(_delete_=True, type='vdense.Swin', out_indices=(0, 1, 2, 3), arch='t',
                  drop_path_rate=0.2,  # mmdet's/mmseg's drop path
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/swin_tiny_patch4_window7_224.pth')),
    neck=dict(in_channels=[96, 192, 384, 768]))
# mmdet's Swin Mask R-CNN 1x: AdamW lr 1e-4, wd 0.05 at batch 16.
optim_wrapper = dict(optimizer=dict(lr=1e-4, weight_decay=0.05), paramwise_cfg=dict(_delete_=True, custom_keys={
    'relative_position_bias_table': dict(decay_mult=0.), 'norm': dict(decay_mult=0.)}))
