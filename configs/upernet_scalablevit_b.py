# UperNet, ScalableViT-B backbone, ADE20K 160k iterations at 512x512: AdamW lr 6e-5, wd 0.01, 1500-iteration
# warm-up, poly; auxiliary FCN head on stage 3 (Swin's recipe, which ScalableViT reports with).
# Pretrained: the authors' ImageNet-1K checkpoint (github Yangr116/ScalableViT), loaded as released.
_base_ = [
    '_base_/models/upernet.py', '_base_/datasets/ade20k.py',
    '_base_/schedules/schedule_160k.py', '_base_/default_runtime_seg.py',
]
model = dict(
    backbone=dict(_delete_=True, type='vdense.ScalableViT', out_indices=(0, 1, 2, 3), arch='b',
                  drop_path_rate=0.3,  # drop path: a guess, the authors did not publish theirs
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/scalablevit_b_in1k.pth')),
    decode_head=dict(in_channels=[96, 192, 384, 768]),
    auxiliary_head=dict(in_channels=384))
