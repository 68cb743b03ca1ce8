# RetinaNet 3x, Swin-S: as retinanet_swin_t_3x.py but for the S variant.
_base_ = './retinanet_swin_t_3x.py'
model = dict(
    backbone=dict(arch='s', drop_path_rate=0.3,  # mmdet's/mmseg's drop path
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/swin_small_patch4_window7_224.pth')),
    neck=dict(in_channels=[192, 384, 768]))
