# RetinaNet, ScalableViT-L backbone, COCO 1x. Paper (official README): L 1x box AP 46.8.
# Pretrained: the authors' ImageNet-1K checkpoint (github Yangr116/ScalableViT), loaded as released.
_base_ = './retinanet_scalablevit_s.py'
model = dict(
    backbone=dict(arch='l', drop_path_rate=0.3,  # a guess: the authors published none
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/scalablevit_l_in1k.pth')),
    neck=dict(in_channels=[128, 256, 512, 1024]))
