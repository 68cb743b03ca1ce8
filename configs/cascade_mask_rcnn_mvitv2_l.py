# Cascade Mask R-CNN, MViTv2-L, COCO 1x: mask_rcnn_mvitv2_l.py (backbone, FPN, optimizer, data)
# with mmdet's cascade RoI head (_base_/models/cascade_mask_rcnn.py).
_base_ = ['./mask_rcnn_mvitv2_l.py', '_base_/models/cascade_mask_rcnn.py']
model = dict(type='CascadeRCNN', roi_head={{_base_.cascade_roi_head}},
             train_cfg=dict(rcnn={{_base_.cascade_rcnn_train_cfg}}))
