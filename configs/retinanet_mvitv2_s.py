# RetinaNet, MViTv2-S: as retinanet_mvitv2_t.py but for the S variant.
_base_ = './retinanet_mvitv2_t.py'
model = dict(backbone=dict(arch='s', drop_path_rate=0.1,
                           init_cfg=dict(type='Pretrained', checkpoint='pretrained/MViTv2_S_in1k.pyth')))
