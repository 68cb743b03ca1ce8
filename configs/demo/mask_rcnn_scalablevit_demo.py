# A small Mask R-CNN on the demo ScalableViT (as retinanet_scalablevit_demo.py), trained from scratch on the
# generated shapes with their masks. Same code path as the COCO configs; heads narrowed to the backbone's size.
# Schedule as the RetinaNet demo's (5 epochs of 250 steps of 4 images); results in docs/demo_recipes.md.
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
    # 192-px images hold at most 5 shapes: far fewer proposals than COCO's 1000 keep the RoI heads cheap.
    train_cfg=dict(rpn_proposal=dict(nms_pre=500, max_per_img=200), rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100), rcnn=dict(max_per_img=20)))
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=5, max_keep_ckpts=1))
log_processor = dict(window_size=50)
