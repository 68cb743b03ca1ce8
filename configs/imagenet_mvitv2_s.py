# ImageNet-1K classification, MViTv2-S: as imagenet_mvitv2_t.py but for the S variant.
_base_ = './imagenet_mvitv2_t.py'
model = dict(backbone=dict(arch='s', drop_path_rate=0.1))
