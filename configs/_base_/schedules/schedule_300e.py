# ImageNet-1K 300 epochs (DeiT/Swin/ScalableViT recipe): AdamW lr 1e-3 at batch 1024, wd 0.05, 5-epoch linear
# warm-up then cosine, grad clip 5; no decay on norms, biases, PEGs and position tables.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0., flat_decay_mult=0., custom_keys={
        'pos_block': dict(decay_mult=0.), 'relative_position_bias_table': dict(decay_mult=0.),
        'rel_pos': dict(decay_mult=0.)}),
    clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=5, end=300),
]
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(enable=False, base_batch_size=1024)
