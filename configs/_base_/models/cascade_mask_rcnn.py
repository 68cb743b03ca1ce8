# Cascade Mask R-CNN as the Swin and MViTv2 papers report it (Swin's released "giou_4conv1f" configs): 3 box stages
# at IoU 0.5/0.6/0.7, each box head 4 convs + 1 fc with SyncBN and a GIoU loss on decoded boxes, a mask head per
# stage. mmdet's own cascade-mask-rcnn_r50_fpn has 2-fc heads with smooth L1: ~6 M params and ~345 GFLOPs fewer.
# Pieces a Mask R-CNN config swaps in; family-neutral (no backbone here):
#   _base_ = ['./mask_rcnn_swin_t.py', '_base_/models/cascade_mask_rcnn.py']
#   model = dict(type='CascadeRCNN', roi_head={{_base_.cascade_roi_head}},
#                train_cfg=dict(rcnn={{_base_.cascade_rcnn_train_cfg}}))
# The RPN, FPN, test settings and data preprocessor are Mask R-CNN's (the same in mmdet's two bases).
stage_box_head = dict(type='ConvFCBBoxHead', num_shared_convs=4, num_shared_fcs=1, in_channels=256,
                      conv_out_channels=256, fc_out_channels=1024, roi_feat_size=7, num_classes=80,
                      reg_class_agnostic=False, reg_decoded_bbox=True, norm_cfg=dict(type='SyncBN', requires_grad=True),
                      loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                      loss_bbox=dict(type='GIoULoss', loss_weight=10.0))
cascade_roi_head = {'_delete_': True,
 'type': 'CascadeRoIHead',
 'num_stages': 3,
 'stage_loss_weights': [1, 0.5, 0.25],
 'bbox_roi_extractor': {'type': 'SingleRoIExtractor',
                        'roi_layer': {'type': 'RoIAlign', 'output_size': 7, 'sampling_ratio': 0},
                        'out_channels': 256,
                        'featmap_strides': [4, 8, 16, 32]},
 'bbox_head': [dict(stage_box_head, bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0, 0.0, 0.0, 0.0],
                                                 target_stds=stds))
               for stds in ([0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1], [0.033, 0.033, 0.067, 0.067])],
 'mask_roi_extractor': {'type': 'SingleRoIExtractor',
                        'roi_layer': {'type': 'RoIAlign', 'output_size': 14, 'sampling_ratio': 0},
                        'out_channels': 256,
                        'featmap_strides': [4, 8, 16, 32]},
 'mask_head': {'type': 'FCNMaskHead',
               'num_convs': 4,
               'in_channels': 256,
               'conv_out_channels': 256,
               'num_classes': 80,
               'loss_mask': {'type': 'CrossEntropyLoss', 'use_mask': True, 'loss_weight': 1.0}}}
# Each stage samples against its own IoU threshold.
cascade_rcnn_train_cfg = [dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=iou, neg_iou_thr=iou, min_pos_iou=iou,
                                             match_low_quality=False, ignore_iof_thr=-1),
                               sampler=dict(type='RandomSampler', num=512, pos_fraction=0.25, neg_pos_ub=-1,
                                            add_gt_as_proposals=True),
                               mask_size=28, pos_weight=-1, debug=False)
                          for iou in (0.5, 0.6, 0.7)]
