# A small Mask R-CNN on the demo ScalableViT (as retinanet_scalablevit_demo.py), trained from scratch on the
# generated shapes with their masks. Same code path as the COCO configs; heads narrowed to the backbone's size.
# The RetinaNet demo's steps (250 of 4 images per epoch, lr 2e-3) for 3 epochs instead of 5: box/mask mAP
# 0.46/0.49 after 2 (too close to the tests' 0.4), 0.89/0.86 after 5; results in docs/demo_recipes.md.
_base_ = [
    '../_base_/models/mask_rcnn.py', '../_base_/datasets/demo_coco_instance.py',
    '../_base_/schedules/demo_det.py', '../_base_/default_runtime_det.py',
]
norm_cfg = dict(type='GN', num_groups=16, requires_grad=True)  # as the RetinaNet demo's head: faster from scratch
model = dict(
    backbone=dict(
        type='vdense.ScalableViT', arch=dict(embed_dims=[32, 64, 128, 256], depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8],
                  c_ratios=[1.25, 1.25, 1.25, 1], window_sizes=[6, 6, 6, 6], mlp_ratios=[2, 2, 2, 2]),
        drop_path_rate=0.0),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(type='Shared4Conv1FCBBoxHead', in_channels=64, conv_out_channels=64, fc_out_channels=256,
                       num_classes=4, norm_cfg=norm_cfg),
        mask_roi_extractor=dict(out_channels=64),
        mask_head=dict(in_channels=64, conv_out_channels=64, num_classes=4, norm_cfg=norm_cfg)),
    # 192-px images hold at most 5 shapes: far fewer proposals than COCO's 1000 keep the RoI heads cheap, and 64
    # sampled RoIs, half of them positive, keep the 32 positives the mask head learns from (128 at 1/4 before: the
    # 4-conv box head on the extra negatives took 25 % of an early step, 12 % of a late one; box/mask mAP 0.764/0.775
    # and 0.660/0.668 for seeds 0 and 1, against 0.796/0.807 with 128; 64 at 1/4 gave 0.656/0.690: demo_recipes.md).
    train_cfg=dict(rpn_proposal=dict(nms_pre=500, max_per_img=200), rcnn=dict(sampler=dict(num=64, pos_fraction=0.5))),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100), rcnn=dict(max_per_img=20)))
train_cfg = dict(max_epochs=3, val_interval=3)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', T_max=3, eta_min=1e-5, by_epoch=True, begin=0, end=3),
]
# progress every 10 steps (a few seconds), smoothed over 50
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=3, max_keep_ckpts=1))
log_processor = dict(window_size=50)
