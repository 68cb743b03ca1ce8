# RetinaNet, ScalableViT-L, COCO 3x with multi-scale + crop training (mmdet's Swin 3x recipe), AdamW wd 0.05.
_base_ = [
    '_base_/models/retinanet.py', '_base_/datasets/coco_detection_ms.py',
    '_base_/schedules/schedule_3x.py', '_base_/default_runtime_det.py',
]
model = dict(
    backbone=dict(arch='l', drop_path_rate=0.3,  # drop path: a guess, the authors did not publish theirs
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/scalablevit_l_in1k.pth')),
    neck=dict(in_channels=[128, 256, 512, 1024]))
