# semantic_fpn_scalablevit_demo.py with a Swin of the same size (32-256 channels, 2 blocks per stage, MLP ratio 2):
# the other families' demos run in the slow tests (make test-all). Window 4 divides the 32/16/8/4 maps.
# Swin fits the training images without learning the shapes unless stochastic depth regularises it: drop path 0.3,
# lr 1e-3, 3000 steps (what else was tried: docs/demo_recipes.md).
_base_ = ['./semantic_fpn_scalablevit_demo.py']
model = dict(backbone=dict(
    _delete_=True, type='vdense.Swin', arch=dict(embed_dims=32, depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8]),
    mlp_ratio=2., drop_path_rate=0.3, window_size=4))
optim_wrapper = dict(optimizer=dict(lr=1e-3),
                     paramwise_cfg=dict(custom_keys={'relative_position_bias_table': dict(decay_mult=0.)}))
train_cfg = dict(max_iters=3000, val_interval=3000)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=50, end=3000, by_epoch=False),
]
default_hooks = dict(checkpoint=dict(interval=3000))
