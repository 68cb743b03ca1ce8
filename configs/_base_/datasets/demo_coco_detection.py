# The generated shapes data set (tools/make_demo_data.py) in COCO format: 4 classes, 192x192 images.
_base_ = './coco_detection.py'

data_root = 'data/demo/coco/'
metainfo = dict(classes=('circle', 'square', 'triangle', 'star'),
                palette=[(220, 20, 60), (0, 130, 230), (0, 200, 80), (250, 170, 30)])
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(192, 192), keep_ratio=True),  # the images are 192x192: records scale_factor
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(192, 192), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
# Small batches, many steps (configs/_base_/schedules/demo_det.py). Loading 4 small JPEGs takes milliseconds:
# in-process, instead of worker processes fighting for the 2 cores.
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    batch_sampler=None,
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file='annotations/instances_train.json',
                 data_prefix=dict(img='train/'), filter_cfg=dict(filter_empty_gt=True, min_size=4),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file='annotations/instances_val.json',
                 data_prefix=dict(img='val/'), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
