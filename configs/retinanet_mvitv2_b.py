# RetinaNet, MViTv2-B: as retinanet_mvitv2_t.py but for the B variant.
_base_ = './retinanet_mvitv2_t.py'
model = dict(backbone=dict(arch='b', drop_path_rate=0.4,
                           init_cfg=dict(type='Pretrained', checkpoint='pretrained/MViTv2_B_in1k.pyth')))
