# RetinaNet, Swin-S backbone, COCO 1x: as retinanet_swin_t.py (stages 2-4 into FPN, AdamW lr 1e-4 wd 0.05).
_base_ = './retinanet_swin_t.py'
model = dict(
    backbone=dict(arch='s', drop_path_rate=0.3,
                  init_cfg=dict(type='Pretrained', checkpoint='pretrained/swin_small_patch4_window7_224.pth')),
    neck=dict(in_channels=[192, 384, 768]))
