# RetinaNet, ScalableViT-B backbone, COCO 1x. Paper (official README): B 1x box AP 45.8.
# Pretrained: the authors' ImageNet-1K checkpoint (github Yangr116/ScalableViT), loaded as released.
_base_ = [
    '_base_/models/retinanet.py', '_base_/datasets/coco_detection.py',
    '_base_/schedules/schedule_1x.py', '_base_/default_runtime_det.py',
]
model = dict(
    backbone=dict(arch='b', drop_path_rate=0.3,  # drop path: a guess, the authors did not publish theirs
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/scalablevit_b_in1k.pth')),
    neck=dict(in_channels=[96, 192, 384, 768]))
