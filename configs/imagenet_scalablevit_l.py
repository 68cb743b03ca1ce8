# ImageNet-1K classification, ScalableViT-L: as imagenet_scalablevit_s.py but for the L variant.
_base_ = './imagenet_scalablevit_s.py'
model = dict(
    backbone=dict(arch='l', drop_path_rate=0.5),
    head=dict(in_channels=1024))
