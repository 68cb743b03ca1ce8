# UperNet, Swin-L: as upernet_swin_t.py but for the L variant, window 12, from the official ImageNet-22K 384 release
# (swin_large_patch4_window12_384_22k.pth, loaded as released; its 12-window tables fit as they are).
_base_ = './upernet_swin_t.py'
model = dict(
    backbone=dict(arch='l', window_size=12, drop_path_rate=0.3,
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/swin_large_patch4_window12_384_22k.pth')),
    decode_head=dict(in_channels=[192, 384, 768, 1536]),
    auxiliary_head=dict(in_channels=768))
