# Mask R-CNN, ScalableViT-S backbone, COCO 3x with multi-scale + crop training (mmdet's Swin 3x recipe):
# 36 epochs, AdamW lr 1e-4, wd 0.05 at batch 16.
_base_ = [
    '_base_/models/mask_rcnn.py', '_base_/datasets/coco_instance_ms.py',
    '_base_/schedules/schedule_3x.py', '_base_/default_runtime_det.py',
]
model = dict(
    backbone=dict(_delete_=True, type='vdense.ScalableViT', out_indices=(0, 1, 2, 3), arch='s',
                  drop_path_rate=0.2,  # drop path: a guess, the authors did not publish theirs
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/scalablevit_s_in1k.pth')),
    neck=dict(in_channels=[64, 128, 256, 512]))
