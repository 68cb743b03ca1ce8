# Semantic FPN, Swin-B: as semantic_fpn_swin_t.py but for the B variant.
_base_ = './semantic_fpn_swin_t.py'
model = dict(
    backbone=dict(arch='b', drop_path_rate=0.3,  # mmdet's/mmseg's drop path
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/swin_base_patch4_window7_224.pth')),
    neck=dict(in_channels=[128, 256, 512, 1024]))
