# semantic_fpn_scalablevit_demo.py with an MViTv2 of the same size (32-256 channels, 8 blocks, MLP ratio 2), global
# attention (the 128-px images give at most 32x32 maps; K/V pooled 4x in stage 1).
_base_ = ['./semantic_fpn_scalablevit_demo.py']
model = dict(backbone=dict(
    _delete_=True, type='vdense.MViT', arch=dict(embed_dims=32, depths=[1, 2, 3, 2], num_heads=1),
    mlp_ratio=2., drop_path_rate=0., img_size=128))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'rel_pos': dict(decay_mult=0.)}))
