# UperNet, MViTv2-T (Hwin), ADE20K 160k iterations at 512x512: Swin's UperNet recipe (AdamW lr 6e-5, wd 0.01,
# 1500-iteration warm-up, poly); no MViTv2 ADE20K result is published.
_base_ = [
    '_base_/models/upernet.py', '_base_/datasets/ade20k.py',
    '_base_/schedules/schedule_160k.py', '_base_/default_runtime_seg.py',
]
model = dict(
    backbone=dict(_delete_=True, type='vdense.MViT', arch='t', out_indices=(0, 1, 2, 3), use_hwin=True,
                  drop_path_rate=0.1,
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/MViTv2_T_in1k.pyth')),
    decode_head=dict(in_channels=[96, 192, 384, 768]),
    auxiliary_head=dict(in_channels=384))
