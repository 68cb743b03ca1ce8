# Mask R-CNN, MViTv2-T backbone, COCO 3x with multi-scale + crop training, hybrid window attention (Hwin):
# detectron2's MViTv2 recipe (paper's Mask R-CNN 3x box/mask: 48.2 / 43.8; 36 epochs, batch 64 there).
# All four stages feed FPN (P2-P6). Pretrained: the official MViTv2_T_in1k.pyth, loaded as released.
_base_ = [
    '_base_/models/mask_rcnn.py', '_base_/datasets/coco_instance_ms.py',
    '_base_/schedules/schedule_3x.py', '_base_/default_runtime_det.py',
]
model = dict(
    backbone=dict(_delete_=True, type='vdense.MViT', arch='t', out_indices=(0, 1, 2, 3), use_hwin=True,
                  drop_path_rate=0.1,  # issue 4's 0.1; detectron2's T/S configs use 0.2
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/MViTv2_T_in1k.pyth')),
    neck=dict(in_channels=[96, 192, 384, 768]))
# detectron2's MViTv2 recipe is AdamW lr 1.6e-4 at batch 64 (detectron2 projects/MViTv2 configs); linearly scaled to
# the batch 16 these configs state (as mmdet's --auto-scale-lr scales): 1.6e-4 * 16 / 64 = 4e-5. wd 0.1; no decay on
# norms and relative-position tables (detectron2: weight_decay_norm=0, rel_pos_h/w overridden to 0).
optim_wrapper = dict(
    optimizer=dict(lr=4e-5, weight_decay=0.1),
    paramwise_cfg=dict(_delete_=True, custom_keys={'rel_pos': dict(decay_mult=0.), 'norm': dict(decay_mult=0.)}))
