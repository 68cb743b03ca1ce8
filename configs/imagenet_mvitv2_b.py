# ImageNet-1K classification, MViTv2-B: as imagenet_mvitv2_t.py but for the B variant.
_base_ = './imagenet_mvitv2_t.py'
model = dict(backbone=dict(arch='b', drop_path_rate=0.3))
