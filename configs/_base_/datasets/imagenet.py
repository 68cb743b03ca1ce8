# ImageNet-1K at data/imagenet (MMPretrain layout: train/<class>/*.JPEG, val/ with meta/val.txt or class folders),
# 224 crops with the DeiT/Swin augmentation: RandAugment m9-mstd0.5, random erasing 0.25 (mmpretrain's piece);
# Mixup 0.8 / CutMix 1.0 and label smoothing 0.1 live in the classifier model piece. 128 images per GPU x 8.
_base_ = 'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py'
train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader
