# UperNet (mmseg's UPerHead) on a vdense backbone with the auxiliary FCN head on stage 3, 150 ADE20K classes.
# Backbone and head in_channels are set per config. SyncBN in the heads runs as BN in a single process.
_base_ = 'mmseg::_base_/models/upernet_swin.py'
model = dict(
    data_preprocessor=dict(size=(512, 512)),  # the crop size of the ADE20K piece
    backbone=dict(_delete_=True, out_indices=(0, 1, 2, 3)),  # the family: per config
    decode_head=dict(num_classes=150),
    auxiliary_head=dict(in_index=2, num_classes=150))
