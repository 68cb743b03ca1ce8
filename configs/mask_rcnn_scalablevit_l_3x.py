# Mask R-CNN, ScalableViT-L backbone, COCO 3x with multi-scale + crop training (mmdet's Swin 3x recipe):
# 36 epochs, AdamW lr 1e-4, wd 0.05 at batch 16.
_base_ = [
    '_base_/models/mask_rcnn.py', '_base_/datasets/coco_instance_ms.py',
    '_base_/schedules/schedule_3x.py', '_base_/default_runtime_det.py',
]
model = dict(
    backbone=dict(_delete_=True, type='vdense.ScalableViT', out_indices=(0, 1, 2, 3), arch='l',
                  drop_path_rate=0.3,  # drop path: a guess, the authors did not publish theirs
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/scalablevit_l_in1k.pth')),
    neck=dict(in_channels=[128, 256, 512, 1024]))
