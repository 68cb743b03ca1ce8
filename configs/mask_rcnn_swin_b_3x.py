# Mask R-CNN, Swin-B backbone, COCO 3x with multi-scale + crop training (mmdet's Swin 3x recipe):
# 36 epochs, AdamW lr 1e-4, wd 0.05 at batch 16.
_base_ = [
    '_base_/models/mask_rcnn.py', '_base_/datasets/coco_instance_ms.py',
    '_base_/schedules/schedule_3x.py', '_base_/default_runtime_det.py',
]
model = dict(
    backbone=dict(_delete_=True, type='vdense.Swin', out_indices=(0, 1, 2, 3), arch='b',
                  drop_path_rate=0.3,  # mmdet's/mmseg's drop path
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/swin_base_patch4_window7_224.pth')),
    neck=dict(in_channels=[128, 256, 512, 1024]))
optim_wrapper = dict(paramwise_cfg=dict(_delete_=True, custom_keys={
    'relative_position_bias_table': dict(decay_mult=0.), 'norm': dict(decay_mult=0.)}))
