# RetinaNet, ScalableViT-S, COCO 3x with multi-scale + crop training (mmdet's Swin 3x recipe), AdamW wd 0.05.
_base_ = [
    '_base_/models/retinanet.py', '_base_/datasets/coco_detection_ms.py',
    '_base_/schedules/schedule_3x.py', '_base_/default_runtime_det.py',
]
model = dict(
    backbone=dict(arch='s', drop_path_rate=0.2,  # drop path: a guess, the authors did not publish theirs
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/scalablevit_s_in1k.pth')),
    neck=dict(in_channels=[64, 128, 256, 512]))
