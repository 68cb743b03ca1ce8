# 36 epochs, steps at 27 and 33 (mmdet's Swin 3x); AdamW lr 1e-4, wd 0.05 at batch 16.
_base_ = './schedule_1x.py'
train_cfg = dict(max_epochs=36)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=36, by_epoch=True, milestones=[27, 33], gamma=0.1),
]
optim_wrapper = dict(optimizer=dict(weight_decay=0.05))
