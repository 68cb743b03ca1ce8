# A small RetinaNet-ScalableViT trained from scratch on the generated shapes (make demo): about 4 minutes on
# 2 CPU cores. Same code path as the COCO configs; only the sizes and the schedule are small.
_base_ = [
    '../_base_/models/retinanet.py', '../_base_/datasets/demo_coco_detection.py',
    '../_base_/schedules/demo_det.py', '../_base_/default_runtime_det.py',
]
model = dict(
    backbone=dict(
        # ScalableViT shrunk to 32-256 channels and 2 blocks (IWSA + SSA) per stage; window 6 divides every
        # stage (48, 24, 12, 6) of the 192x192 images, and sr 8/4/2/1 reduces each to 6x6 keys. MLP ratio 2:
        # cheaper steps, and it learned faster in the first epochs (docs/demo_recipes.md).
        type='vdense.ScalableViT', arch=dict(embed_dims=[32, 64, 128, 256], depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8],
                  c_ratios=[1.25, 1.25, 1.25, 1], window_sizes=[6, 6, 6, 6], mlp_ratios=[2, 2, 2, 2]),
        drop_path_rate=0.0),  # a short from-scratch run underfits: no stochastic depth
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    # GroupNorm in the head: from scratch it learns faster.
    bbox_head=dict(num_classes=4, in_channels=64, feat_channels=64, stacked_convs=2,
                   norm_cfg=dict(type='GN', num_groups=16, requires_grad=True)))
# progress every 10 steps (a few seconds), smoothed over 50
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=5, max_keep_ckpts=1))
log_processor = dict(window_size=50)
