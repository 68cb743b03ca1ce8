# A small Semantic FPN on a ScalableViT (32-256 channels) trained from scratch on the generated shapes in the
# ADE20K layout (make demo / tests). Same code path as the ADE20K configs; only sizes and schedule are small.
_base_ = ['../_base_/models/semantic_fpn.py', '../_base_/datasets/demo_ade.py', '../_base_/default_runtime_seg.py']
norm_cfg = dict(type='GN', num_groups=16, requires_grad=True)  # batch-size independent, learns fast from scratch
model = dict(
    data_preprocessor=dict(size=(128, 128)),
    backbone=dict(
        # window 4 divides every stage map of the 128x128 images (32, 16, 8, 4); sr 8/4/2/1 leaves 4x4 keys.
        type='vdense.ScalableViT', arch=dict(embed_dims=[32, 64, 128, 256], depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8],
                  c_ratios=[1.25, 1.25, 1.25, 1], window_sizes=[4, 4, 4, 4], mlp_ratios=[2, 2, 2, 2]),
        drop_path_rate=0.0),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    decode_head=dict(in_channels=[64, 64, 64, 64], channels=64, num_classes=5, dropout_ratio=0.,
                     norm_cfg=norm_cfg))
# 1200 steps of 8 images, about 4 minutes on 2 cores (600 learned only background and one class).
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1200, val_interval=1200)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={'pos_block': dict(decay_mult=0.), 'norm': dict(decay_mult=0.)}),
    clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=50, end=1200, by_epoch=False),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1200, max_keep_ckpts=1),
    visualization=dict(type='SegVisualizationHook'))
auto_scale_lr = dict(enable=False, base_batch_size=8)
randomness = dict(seed=0)
