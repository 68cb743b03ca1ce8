# A small UperNet (+ auxiliary FCN head on stage 3) on the demo ScalableViT, trained from scratch on the generated
# shapes in the ADE20K layout. Backbone, data and schedule as semantic_fpn_scalablevit_demo.py.
_base_ = './semantic_fpn_scalablevit_demo.py'
norm_cfg = dict(type='GN', num_groups=16, requires_grad=True)
model = dict(
    neck=None,  # UperNet fuses the backbone maps itself
    decode_head=dict(_delete_=True, type='UPerHead', in_channels=[32, 64, 128, 256], in_index=[0, 1, 2, 3],
                     pool_scales=(1, 2, 3, 6), channels=64, dropout_ratio=0., num_classes=5,
                     norm_cfg=norm_cfg, align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(type='FCNHead', in_channels=128, in_index=2, channels=32, num_convs=1, concat_input=False,
                        dropout_ratio=0., num_classes=5, norm_cfg=norm_cfg, align_corners=False,
                        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)))
# UperNet learns a little slower from scratch than Semantic FPN: 1500 steps instead of 1200.
train_cfg = dict(max_iters=1500, val_interval=1500)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=50, end=1500, by_epoch=False),
]
default_hooks = dict(checkpoint=dict(interval=1500))
