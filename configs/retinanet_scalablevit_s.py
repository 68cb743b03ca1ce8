# RetinaNet, ScalableViT-S backbone, COCO 1x. Paper (official README): S 1x box AP 45.2.
# Pretrained: the authors' ImageNet-1K checkpoint (github Yangr116/ScalableViT), loaded as released.
_base_ = [
    '_base_/models/retinanet.py', '_base_/datasets/coco_detection.py',
    '_base_/schedules/schedule_1x.py', '_base_/default_runtime_det.py',
]
model = dict(
    backbone=dict(type='vdense.ScalableViT', arch='s', drop_path_rate=0.2,  # a guess: the authors published none
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/scalablevit_s_in1k.pth')),
    neck=dict(in_channels=[64, 128, 256, 512]))
