# 12 epochs, steps at 8 and 11, 500-iteration linear warm-up; AdamW as Twins/ScalableViT detection
# (lr 1e-4, wd 1e-4 at batch 16: the authors never published theirs, these are Twins' settings).
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1),
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-4),
    # No decay on the position-encoding generators and on any norm.
    paramwise_cfg=dict(custom_keys={'pos_block': dict(decay_mult=0.), 'norm': dict(decay_mult=0.)}))
# Learning rates above are for 16 images per iteration (8 GPUs x 2); `--auto-scale-lr` rescales them.
auto_scale_lr = dict(enable=False, base_batch_size=16)
# The *_3x.py configs inherit their 1x config and swap in 36 epochs with steps at 27 and 33 (mmdet's Swin 3x).
param_scheduler_3x = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=36, by_epoch=True, milestones=[27, 33], gamma=0.1),
]
