# UperNet 160k iterations (Swin's ADE20K recipe): AdamW lr 6e-5, wd 0.01, 1500-iteration linear warm-up, then
# poly (power 1.0) decay, at 16 images per iteration; no decay on position tables/PEGs and on any norm.
train_cfg = dict(type='IterBasedTrainLoop', max_iters=160000, val_interval=16000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={
        'pos_block': dict(decay_mult=0.), 'relative_position_bias_table': dict(decay_mult=0.),
        'rel_pos': dict(decay_mult=0.), 'norm': dict(decay_mult=0.)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0., power=1.0, begin=1500, end=160000, by_epoch=False),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=16000, max_keep_ckpts=2),
    visualization=dict(type='SegVisualizationHook'))  # mmseg keeps its hooks in the schedules; --show-dir uses it
auto_scale_lr = dict(enable=False, base_batch_size=16)
