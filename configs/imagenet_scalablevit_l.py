# ImageNet-1K classification, ScalableViT-L, 300 epochs at batch 1024 (128 x 8 GPUs):
# the authors' recipe (github Yangr116/ScalableViT):
# AdamW lr 1e-3, wd 0.05, cosine, 5 warm-up epochs, grad clip 5, RandAugment, Mixup/CutMix, label smoothing, random
# erasing, drop path 0.5.
# The authors' head: their final LayerNorm is our last output norm (norm3), mean pooling is the neck, then
# Linear(C, 4096) -> LN -> GELU -> Linear. `tools/test.py` evaluates their released checkpoint as is.
_base_ = [
    '_base_/models/classifier.py', '_base_/datasets/imagenet.py',
    '_base_/schedules/schedule_300e.py', '_base_/default_runtime_cls.py',
]
model = dict(
    backbone=dict(type='vdense.ScalableViT', arch='l', out_indices=(3,), drop_path_rate=0.5),
    head=dict(_delete_=True, type='vdense.ScalableViTClsHead', num_classes=1000, in_channels=1024,
              hidden_channels=4096, loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
              cal_acc=False))
