# The demo detectors' schedule (configs/demo/): 5 epochs over the 1000 generated images, from scratch.
# Small batches, many steps, many distinct images; lr 2e-3, the fastest that stays stable (docs/demo_recipes.md).
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=5, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', T_max=5, eta_min=1e-5, by_epoch=True, begin=0, end=5),
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={'pos_block': dict(decay_mult=0.), 'norm': dict(decay_mult=0.)}),
    clip_grad=dict(max_norm=10.0))
auto_scale_lr = dict(enable=False, base_batch_size=4)
randomness = dict(seed=0)  # the demo is repeatable
