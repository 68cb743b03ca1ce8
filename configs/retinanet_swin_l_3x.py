# RetinaNet Swin-L, COCO 3x: its 1x config with multi-scale + crop training and 36 epochs
# (mmdet's Swin 3x recipe).
_base_ = './retinanet_swin_l.py'
train_pipeline = {{_base_.multiscale_crop_train_pipeline}}
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
train_cfg = dict(max_epochs=36)
param_scheduler = {{_base_.param_scheduler_3x}}
optim_wrapper = dict(optimizer=dict(lr=0.0001, weight_decay=0.05))
