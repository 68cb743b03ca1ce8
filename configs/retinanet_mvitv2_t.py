# RetinaNet, MViTv2-T backbone, COCO 1x, hybrid window attention (Hwin) as detectron2's MViTv2 for detection.
# Stages 2-4 feed FPN, as in mmdet's Swin RetinaNet: a one-stage detector's FPN starts at stride 8, so the stride-4
# output would only be normed and dropped, and its unused norm would force find_unused_parameters in DDP.
# No published MViTv2 RetinaNet: the optimizer is the Mask R-CNN recipe's (below).
# Pretrained: the official MViTv2_T_in1k.pyth (facebookresearch/mvit), loaded as released.
_base_ = [
    '_base_/models/retinanet.py', '_base_/datasets/coco_detection.py',
    '_base_/schedules/schedule_1x.py', '_base_/default_runtime_det.py',
]
model = dict(
    backbone=dict(_delete_=True, type='vdense.MViT', arch='t', out_indices=(1, 2, 3), use_hwin=True,
                  drop_path_rate=0.1,  # detectron2's T/S configs use 0.2
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/MViTv2_T_in1k.pyth')),
    neck=dict(in_channels=[192, 384, 768], start_level=0))
model_wrapper_cfg = dict(find_unused_parameters=False)  # every backbone output is used here
# detectron2's MViTv2 recipe is AdamW lr 1.6e-4 at batch 64 (detectron2 projects/MViTv2 configs); linearly scaled to
# the batch 16 these configs state (as mmdet's --auto-scale-lr scales): 1.6e-4 * 16 / 64 = 4e-5. wd 0.1; no decay on
# norms and relative-position tables (detectron2: weight_decay_norm=0, rel_pos_h/w overridden to 0).
optim_wrapper = dict(
    optimizer=dict(lr=4e-5, weight_decay=0.1),
    paramwise_cfg=dict(_delete_=True, custom_keys={'rel_pos': dict(decay_mult=0.), 'norm': dict(decay_mult=0.)}))
