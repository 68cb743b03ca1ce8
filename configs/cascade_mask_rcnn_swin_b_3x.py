# Cascade Mask R-CNN Swin-B, COCO 3x (the Swin and MViTv2 papers' headline detection setting):
# its 1x config with multi-scale + crop training and 36 epochs, as mask_rcnn_swin_b_3x.py.
_base_ = './cascade_mask_rcnn_swin_b.py'
train_pipeline = {{_base_.multiscale_crop_train_pipeline}}
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
train_cfg = dict(max_epochs=36)
param_scheduler = {{_base_.param_scheduler_3x}}
optim_wrapper = dict(optimizer=dict(lr=0.0001, weight_decay=0.05))
