# Mask R-CNN (mmdet's, FPN) on a vdense backbone: all four stage outputs feed FPN. Backbone and FPN in_channels
# are set per config.
_base_ = 'mmdet::_base_/models/mask-rcnn_r50_fpn.py'
model = dict(backbone=dict(_delete_=True, out_indices=(0, 1, 2, 3)))
