# ImageNet-1K classifier (mmpretrain's ImageClassifier): the backbone's last stage through its output norm,
# global average pooling, a linear head; Mixup 0.8 / CutMix 1.0 and label smoothing 0.1 (DeiT/Swin recipe).
# The backbone (and a family's own head, e.g. ScalableViT's) is set per config.
model = dict(
    type='ImageClassifier',
    backbone=dict(out_indices=(3,)),  # the family: per config
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=1000, init_cfg=None,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'), cal_acc=False),
    init_cfg=[dict(type='TruncNormal', layer='Linear', std=0.02, bias=0.),
              dict(type='Constant', layer='LayerNorm', val=1., bias=0.)],
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]))
