# imagenet_scalablevit_demo.py with an MViTv2 of the same size (32-256 channels, 8 blocks, MLP ratio 2), global
# attention as MViTv2 classifies, and its linear head: the other families' demos run in the slow tests.
_base_ = ['./imagenet_scalablevit_demo.py']
model = dict(
    backbone=dict(
        _delete_=True, type='vdense.MViT', arch=dict(embed_dims=32, depths=[1, 2, 3, 2], num_heads=1),
        mlp_ratio=2., drop_path_rate=0., img_size=64, out_indices=(3,)),
    head=dict(_delete_=True, type='LinearClsHead', num_classes=4, in_channels=256, topk=(1, 2),
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'rel_pos': dict(decay_mult=0.)}))
# 12 epochs, as measured (the ScalableViT demo needs only 8)
train_cfg = dict(max_epochs=12, val_interval=12)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', T_max=12, eta_min=1e-5, by_epoch=True, begin=0, end=12),
]
default_hooks = dict(checkpoint=dict(interval=12))
