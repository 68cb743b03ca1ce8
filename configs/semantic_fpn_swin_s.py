# Semantic FPN, Swin-S: as semantic_fpn_swin_t.py but for the S variant.
_base_ = './semantic_fpn_swin_t.py'
model = dict(
    backbone=dict(arch='s', drop_path_rate=0.3,  # mmdet's/mmseg's drop path
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/swin_small_patch4_window7_224.pth')),
    neck=dict(in_channels=[96, 192, 384, 768]))
