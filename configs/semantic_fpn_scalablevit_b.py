# Semantic FPN, ScalableViT-B: as semantic_fpn_scalablevit_s.py but for the B variant.
_base_ = './semantic_fpn_scalablevit_s.py'
model = dict(
    backbone=dict(arch='b', drop_path_rate=0.3,  # drop path: a guess, the authors did not publish theirs
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/scalablevit_b_in1k.pth')),
    neck=dict(in_channels=[96, 192, 384, 768]))
