# ADE20K (ADEChallengeData2016) at data/ade/ADEChallengeData2016 (MMSegmentation layout), 512x512 crops,
# reduce_zero_label: mmseg's piece as is. 16 images per iteration in total (8 GPUs x 2).
_base_ = 'mmseg::_base_/datasets/ade20k.py'
train_dataloader = dict(batch_size=2, num_workers=4)
val_dataloader = dict(batch_size=1, num_workers=4)
test_dataloader = val_dataloader
