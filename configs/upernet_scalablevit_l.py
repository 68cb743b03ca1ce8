# UperNet, ScalableViT-L backbone, ADE20K 160k iterations at 512x512: AdamW lr 6e-5, wd 0.01, 1500-iteration
# warm-up, poly; auxiliary FCN head on stage 3 (Swin's recipe, which ScalableViT reports with).
# Pretrained: the authors' ImageNet-1K checkpoint (github Yangr116/ScalableViT), loaded as released.
_base_ = [
    '_base_/models/upernet.py', '_base_/datasets/ade20k.py',
    '_base_/schedules/schedule_160k.py', '_base_/default_runtime_seg.py',
]
model = dict(
    backbone=dict(_delete_=True, type='vdense.ScalableViT', out_indices=(0, 1, 2, 3), arch='l',
                  drop_path_rate=0.3,  # drop path: a guess, the authors did not publish theirs
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/scalablevit_l_in1k.pth')),
    decode_head=dict(in_channels=[128, 256, 512, 1024]),
    auxiliary_head=dict(in_channels=512))
