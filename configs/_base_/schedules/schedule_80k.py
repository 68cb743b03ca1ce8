# Semantic FPN 80k iterations (PVT/Twins recipe, which ScalableViT's code descends from): AdamW lr 1e-4,
# wd 1e-4, poly (power 0.9) decay, at 16 images per iteration; no decay on the PEGs and on any norm.
train_cfg = dict(type='IterBasedTrainLoop', max_iters=80000, val_interval=8000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'pos_block': dict(decay_mult=0.), 'norm': dict(decay_mult=0.)}))
param_scheduler = [dict(type='PolyLR', eta_min=0., power=0.9, begin=0, end=80000, by_epoch=False)]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=8000, max_keep_ckpts=2),
    visualization=dict(type='SegVisualizationHook'))  # mmseg keeps its hooks in the schedules; --show-dir uses it
auto_scale_lr = dict(enable=False, base_batch_size=16)
