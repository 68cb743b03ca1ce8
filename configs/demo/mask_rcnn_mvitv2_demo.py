# mask_rcnn_scalablevit_demo.py with an MViTv2 of the same size (32-256 channels, 8 blocks, MLP ratio 2), hybrid
# window attention on as for detection: windows of 24/12/6/3 tokens on the 48/24/12/6 maps of the 192-px images.
_base_ = ['./mask_rcnn_scalablevit_demo.py']
model = dict(backbone=dict(
    _delete_=True, type='vdense.MViT', arch=dict(embed_dims=32, depths=[1, 2, 3, 2], num_heads=1),
    mlp_ratio=2., drop_path_rate=0., img_size=192, use_hwin=True, window_size=24),
    # the 128 sampled RoIs (1/4 positive) its results were measured with (the ScalableViT demo samples 64, 1/2)
    train_cfg=dict(rcnn=dict(sampler=dict(num=128, pos_fraction=0.25))))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'rel_pos': dict(decay_mult=0.)}))
# The shared detector schedule's 5 epochs (measured with them; the ScalableViT demo needs only 2)
train_cfg = dict(max_epochs=5, val_interval=5)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', T_max=5, eta_min=1e-5, by_epoch=True, begin=0, end=5),
]
default_hooks = dict(checkpoint=dict(interval=5))
