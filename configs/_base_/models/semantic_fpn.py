# Semantic FPN (Kirillov et al.; mmseg's FPN + FPNHead) on a vdense backbone, 150 ADE20K classes.
# Backbone and FPN in_channels are set per config. SyncBN in the head runs as BN in a single process.
_base_ = 'mmseg::_base_/models/fpn_r50.py'
model = dict(
    data_preprocessor=dict(size=(512, 512)),  # the crop size of the ADE20K piece
    pretrained=None,
    backbone=dict(_delete_=True, out_indices=(0, 1, 2, 3)),  # the family: per config
    neck=dict(out_channels=256, num_outs=4),
    decode_head=dict(num_classes=150))
