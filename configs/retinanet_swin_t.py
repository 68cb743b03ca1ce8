# RetinaNet, Swin-T backbone, COCO 1x. Like mmdet's retinanet_swin-t-p4-w7_fpn_1x_coco, stages 2-4 feed FPN
# (a one-stage detector has no use for stride 4, and an unused output norm would break DDP), but with the Swin
# recipe's AdamW (lr 1e-4, wd 0.05) instead of mmdet's SGD 0.01; no decay on relative-position tables and norms.
# Pretrained: the official swin_tiny_patch4_window7_224.pth (microsoft/Swin-Transformer), loaded as released.
_base_ = [
    '_base_/models/retinanet.py', '_base_/datasets/coco_detection.py',
    '_base_/schedules/schedule_1x.py', '_base_/default_runtime_det.py',
]
model = dict(
    backbone=dict(_delete_=True, type='vdense.Swin', arch='t', window_size=7, out_indices=(1, 2, 3),
                  drop_path_rate=0.2,
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/swin_tiny_patch4_window7_224.pth')),
    neck=dict(in_channels=[192, 384, 768], start_level=0))
model_wrapper_cfg = dict(find_unused_parameters=False)  # every backbone output is used here
optim_wrapper = dict(
    optimizer=dict(weight_decay=0.05),
    paramwise_cfg=dict(_delete_=True, custom_keys={
        'relative_position_bias_table': dict(decay_mult=0.), 'norm': dict(decay_mult=0.)}))
