# Mask R-CNN, ScalableViT-S backbone (all four stages into FPN), COCO 1x.
# Pretrained: the authors' ImageNet-1K checkpoint (github Yangr116/ScalableViT), loaded as released.
_base_ = [
    '_base_/models/mask_rcnn.py', '_base_/datasets/coco_instance.py',
    '_base_/schedules/schedule_1x.py', '_base_/default_runtime_det.py',
]
model = dict(
    backbone=dict(_delete_=True, type='vdense.ScalableViT', out_indices=(0, 1, 2, 3), arch='s',
                  drop_path_rate=0.2,  # drop path: a guess, the authors did not publish theirs
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/scalablevit_s_in1k.pth')),
    neck=dict(in_channels=[64, 128, 256, 512]))
optim_wrapper = dict(optimizer=dict(lr=2e-4))  # Twins' Mask R-CNN 1x: AdamW lr 2e-4, wd 1e-4 at batch 16
