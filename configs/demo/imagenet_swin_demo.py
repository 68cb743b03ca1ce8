# imagenet_scalablevit_demo.py with a Swin of the same size (32-256 channels, 2 blocks per stage, MLP ratio 2)
# and the Swin classifier's linear head: the other families' demos run in the slow tests (make test-all).
# 20 epochs: after the ScalableViT demo's 12 the loss was still falling (docs/demo_recipes.md).
_base_ = ['./imagenet_scalablevit_demo.py']
model = dict(
    backbone=dict(
        _delete_=True, type='vdense.Swin', arch=dict(embed_dims=32, depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8]),
        mlp_ratio=2., drop_path_rate=0., window_size=4, out_indices=(3,)),
    head=dict(_delete_=True, type='LinearClsHead', num_classes=4, in_channels=256, topk=(1, 2),
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'relative_position_bias_table': dict(decay_mult=0.)}))
train_cfg = dict(max_epochs=20, val_interval=20)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', T_max=20, eta_min=1e-5, by_epoch=True, begin=0, end=20),
]
default_hooks = dict(checkpoint=dict(interval=20))
