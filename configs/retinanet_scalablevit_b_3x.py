# RetinaNet, ScalableViT-B, COCO 3x with multi-scale + crop training (mmdet's Swin 3x recipe), AdamW wd 0.05.
_base_ = [
    '_base_/models/retinanet.py', '_base_/datasets/coco_detection_ms.py',
    '_base_/schedules/schedule_3x.py', '_base_/default_runtime_det.py',
]
model = dict(
    backbone=dict(arch='b', drop_path_rate=0.3,  # drop path: a guess, the authors did not publish theirs
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/scalablevit_b_in1k.pth')),
    neck=dict(in_channels=[96, 192, 384, 768]))
