# ImageNet-1K classification, ScalableViT-B: as imagenet_scalablevit_s.py but for the B variant.
_base_ = './imagenet_scalablevit_s.py'
model = dict(
    backbone=dict(arch='b', drop_path_rate=0.5),
    head=dict(in_channels=768))
