# Semantic FPN, MViTv2-T (Hwin), ADE20K 80k iterations at 512x512 (PVT/Twins recipe; no MViTv2 ADE20K result
# is published: a guess).
_base_ = [
    '_base_/models/semantic_fpn.py', '_base_/datasets/ade20k.py',
    '_base_/schedules/schedule_80k.py', '_base_/default_runtime_seg.py',
]
model = dict(
    backbone=dict(_delete_=True, type='vdense.MViT', arch='t', out_indices=(0, 1, 2, 3), use_hwin=True,
                  drop_path_rate=0.1,
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/MViTv2_T_in1k.pyth')),
    neck=dict(in_channels=[96, 192, 384, 768]))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'rel_pos': dict(decay_mult=0.), 'norm': dict(decay_mult=0.)}))
