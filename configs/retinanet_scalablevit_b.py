# RetinaNet, ScalableViT-B backbone, COCO 1x. Paper (official README): B 1x box AP 45.8.
# Pretrained: the authors' ImageNet-1K checkpoint (github Yangr116/ScalableViT), loaded as released.
_base_ = './retinanet_scalablevit_s.py'
model = dict(
    backbone=dict(arch='b', drop_path_rate=0.3,  # a guess: the authors published none
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/scalablevit_b_in1k.pth')),
    neck=dict(in_channels=[96, 192, 384, 768]))
