# A small RetinaNet-ScalableViT trained from scratch on the generated shapes (make demo): ~4 min on 2 CPU cores.
# Same code path as the COCO configs; only the sizes and the schedule are small.
_base_ = [
    '../_base_/models/retinanet.py', '../_base_/datasets/demo_coco_detection.py',
    '../_base_/default_runtime_det.py',
]
model = dict(
    backbone=dict(
        # A ScalableViT shrunk to 32-256 channels and 2 blocks per stage; window 8 divides every stage at 256x256.
        arch=dict(embed_dims=[32, 64, 128, 256], depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8],
                  c_ratios=[1.25, 1.25, 1.25, 1], window_sizes=[8, 8, 8, 8]),
        drop_path_rate=0.1),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    bbox_head=dict(num_classes=4, in_channels=64, feat_channels=64, stacked_convs=2))

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=12)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', T_max=12, eta_min=1e-5, by_epoch=True, begin=0, end=12),
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={'pos_block': dict(decay_mult=0.), 'norm': dict(decay_mult=0.)}),
    clip_grad=dict(max_norm=10.0))
auto_scale_lr = dict(enable=False, base_batch_size=8)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=12, max_keep_ckpts=1))
log_processor = dict(window_size=5)
