# ImageNet-1K classification, MViTv2-L: as imagenet_mvitv2_t.py but for the L variant (drop path 0.5, as the paper).
_base_ = './imagenet_mvitv2_t.py'
model = dict(backbone=dict(arch='l', drop_path_rate=0.5), head=dict(in_channels=1152))
