# mask_rcnn_scalablevit_demo.py with a Swin of the same size (32-256 channels, 2 blocks per stage, MLP ratio 2):
# the other families' demos run in the slow tests (make test-all). Window 6 divides the 48/24/12/6 maps.
_base_ = ['./mask_rcnn_scalablevit_demo.py']
model = dict(backbone=dict(
    _delete_=True, type='vdense.Swin', arch=dict(embed_dims=32, depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8]),
    mlp_ratio=2., drop_path_rate=0., window_size=6),
    # the 128 sampled RoIs (1/4 positive) its results were measured with (the ScalableViT demo samples 64, 1/2)
    train_cfg=dict(rcnn=dict(sampler=dict(num=128, pos_fraction=0.25))))
# Swin from scratch needs a lower lr and more steps than ScalableViT (docs/demo_recipes.md).
optim_wrapper = dict(optimizer=dict(lr=5e-4),
                     paramwise_cfg=dict(custom_keys={'relative_position_bias_table': dict(decay_mult=0.)}))
train_cfg = dict(max_epochs=8, val_interval=8)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', T_max=8, eta_min=1e-5, by_epoch=True, begin=0, end=8),
]
default_hooks = dict(checkpoint=dict(interval=8))
