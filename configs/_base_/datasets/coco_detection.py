# COCO 2017 boxes at data/coco (MMDetection layout), 1333x800 single-scale: mmdet's piece as is.
_base_ = 'mmdet::_base_/datasets/coco_detection.py'

# Multi-scale + random-crop training (mmdet's Swin 3x recipe, DETR-style): the *_3x.py configs inherit their 1x
# config and train with this pipeline.
_multi_scales = [(1333, s) for s in range(480, 801, 32)]
multiscale_crop_train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomChoice', transforms=[
        [dict(type='RandomChoiceResize', scales=_multi_scales, keep_ratio=True)],
        [dict(type='RandomChoiceResize', scales=[(1333, 400), (1333, 500), (1333, 600)], keep_ratio=True),
         dict(type='RandomCrop', crop_type='absolute_range', crop_size=(384, 600), allow_negative_crop=True),
         dict(type='RandomChoiceResize', scales=_multi_scales, keep_ratio=True)],
    ]),
    dict(type='PackDetInputs'),
]
