# ImageNet-1K classification, Swin-L: as imagenet_swin_b.py but for the L variant (224x224, window 7, as the official
# swin_large_patch4_window7_224_22kto1k; the 384 window-12 release loads too, its tables resized to window 7).
_base_ = './imagenet_swin_t.py'
model = dict(
    backbone=dict(arch='l', drop_path_rate=0.5),
    head=dict(in_channels=1536))
