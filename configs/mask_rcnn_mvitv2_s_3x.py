# Mask R-CNN 3x, MViTv2-S: as mask_rcnn_mvitv2_t_3x.py but for the S variant.
_base_ = './mask_rcnn_mvitv2_t_3x.py'
model = dict(backbone=dict(arch='s', drop_path_rate=0.1,
                           init_cfg=dict(type='Pretrained', checkpoint='pretrained/MViTv2_S_in1k.pyth')))
