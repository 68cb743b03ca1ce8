# UperNet, Swin-B: as upernet_swin_t.py but for the B variant.
_base_ = './upernet_swin_t.py'
model = dict(
    backbone=dict(arch='b', drop_path_rate=0.3,  # mmdet's/mmseg's drop path
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/swin_base_patch4_window7_224.pth')),
    decode_head=dict(in_channels=[128, 256, 512, 1024]),
    auxiliary_head=dict(in_channels=512))
