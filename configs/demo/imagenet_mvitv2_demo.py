# imagenet_scalablevit_demo.py with an MViTv2 of the same size (32-256 channels, 8 blocks, MLP ratio 2), global
# attention as MViTv2 classifies, and its linear head: the other families' demos run in the slow tests.
_base_ = ['./imagenet_scalablevit_demo.py']
model = dict(
    backbone=dict(
        _delete_=True, type='vdense.MViT', arch=dict(embed_dims=32, depths=[1, 2, 3, 2], num_heads=1),
        mlp_ratio=2., drop_path_rate=0., img_size=64, out_indices=(3,)),
    head=dict(_delete_=True, type='LinearClsHead', num_classes=4, in_channels=256, topk=(1, 2),
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'rel_pos': dict(decay_mult=0.)}))
