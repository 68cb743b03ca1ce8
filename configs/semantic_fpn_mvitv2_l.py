# Semantic FPN, MViTv2-L (embed 144, 2-6-36-4 blocks; stage outputs 288-576-1152-1152): as semantic_fpn_mvitv2_t.py but for the L variant, from the official
# ImageNet-1K release (MViTv2_L_in1k.pyth); drop path 0.5 as detectron2's MViTv2-L.
_base_ = './semantic_fpn_mvitv2_t.py'
model = dict(
    backbone=dict(arch='l', drop_path_rate=0.5,
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/MViTv2_L_in1k.pyth')),
    neck=dict(in_channels=[288, 576, 1152, 1152]))
