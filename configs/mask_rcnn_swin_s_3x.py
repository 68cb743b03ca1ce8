# Mask R-CNN 3x, Swin-S: as mask_rcnn_swin_t_3x.py but for the S variant.
_base_ = './mask_rcnn_swin_t_3x.py'
model = dict(
    backbone=dict(arch='s', drop_path_rate=0.3,  # mmdet's/mmseg's drop path
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/swin_small_patch4_window7_224.pth')),
    neck=dict(in_channels=[96, 192, 384, 768]))
