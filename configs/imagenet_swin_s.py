# ImageNet-1K classification, Swin-S: as imagenet_swin_t.py but for the S variant.
_base_ = './imagenet_swin_t.py'
model = dict(
    backbone=dict(arch='s', drop_path_rate=0.3),
    head=dict(in_channels=768))
