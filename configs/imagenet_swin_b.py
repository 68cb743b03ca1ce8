# ImageNet-1K classification, Swin-B: as imagenet_swin_t.py but for the B variant.
_base_ = './imagenet_swin_t.py'
model = dict(
    backbone=dict(arch='b', drop_path_rate=0.5),
    head=dict(in_channels=1024))
