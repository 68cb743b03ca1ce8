# Mask R-CNN, ScalableViT-L: as mask_rcnn_scalablevit_s.py but for the L variant.
_base_ = './mask_rcnn_scalablevit_s.py'
model = dict(
    backbone=dict(arch='l', drop_path_rate=0.3,  # drop path: a guess, the authors did not publish theirs
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/scalablevit_l_in1k.pth')),
    neck=dict(in_channels=[128, 256, 512, 1024]))
