# A small ScalableViT classifier (32-256 channels, the family's MLP head at 256 wide) trained from scratch on the
# generated shapes in the ImageNet layout. Same ImageClassifier path as the ImageNet configs; no Mixup/CutMix:
# a few epochs from scratch need every clean label.
_base_ = ['../_base_/models/classifier.py', '../_base_/datasets/demo_imagenet.py', '../_base_/default_runtime_cls.py']
model = dict(
    backbone=dict(
        # window 4: the 64x64 images give 16, 8, 4, 2 maps; sr 8/4/2/1 leaves 2x2 keys.
        type='vdense.ScalableViT', arch=dict(embed_dims=[32, 64, 128, 256], depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8],
                  c_ratios=[1.25, 1.25, 1.25, 1], window_sizes=[4, 4, 4, 4], mlp_ratios=[2, 2, 2, 2]),
        drop_path_rate=0.0),
    head=dict(_delete_=True, type='vdense.ScalableViTClsHead', num_classes=4, in_channels=256, hidden_channels=256,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'), topk=(1, 2)),
    train_cfg=None)
# 8 epochs of AdamW 5e-4 at batch 16: lr 2e-3 at batch 32 stayed at chance (docs/demo_recipes.md).
train_cfg = dict(by_epoch=True, max_epochs=8, val_interval=8)
val_cfg = dict()
test_cfg = dict()
train_dataloader = dict(batch_size=16)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0., custom_keys={'pos_block': dict(decay_mult=0.)}),
    clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', T_max=8, eta_min=1e-5, by_epoch=True, begin=0, end=8),
]
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=8, max_keep_ckpts=1))
auto_scale_lr = dict(enable=False, base_batch_size=16)
randomness = dict(seed=0)
