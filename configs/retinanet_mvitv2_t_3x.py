# RetinaNet, MViTv2-T (stages 2-4 into FPN, Hwin), COCO 3x with multi-scale + crop training (mmdet's Swin 3x).
_base_ = [
    '_base_/models/retinanet.py', '_base_/datasets/coco_detection_ms.py',
    '_base_/schedules/schedule_3x.py', '_base_/default_runtime_det.py',
]
model = dict(
    backbone=dict(_delete_=True, type='vdense.MViT', arch='t', out_indices=(1, 2, 3), use_hwin=True,
                  drop_path_rate=0.1,
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/MViTv2_T_in1k.pyth')),
    neck=dict(in_channels=[192, 384, 768], start_level=0))
model_wrapper_cfg = dict(find_unused_parameters=False)  # every backbone output is used here
# detectron2's MViTv2 recipe is AdamW lr 1.6e-4 at batch 64, scaled to the batch 16 these configs state:
# 4e-5; wd 0.1; no decay on norms and relative-position tables.
optim_wrapper = dict(
    optimizer=dict(lr=4e-5, weight_decay=0.1),
    paramwise_cfg=dict(_delete_=True, custom_keys={'rel_pos': dict(decay_mult=0.), 'norm': dict(decay_mult=0.)}))
