# Mask R-CNN 3x, MViTv2-B: as mask_rcnn_mvitv2_t_3x.py but for the B variant.
_base_ = './mask_rcnn_mvitv2_t_3x.py'
model = dict(backbone=dict(arch='b', drop_path_rate=0.4,
                           init_cfg=dict(type='Pretrained', checkpoint='pretrained/MViTv2_B_in1k.pyth')))
