# The generated shapes in the ADE20K layout (tools/make_demo_data.py): 128x128 images, label PNGs with
# reduce_zero_label (0 = unlabelled outline band, ignored), 5 classes after the reduction.
dataset_type = 'BaseSegDataset'  # ADE20KDataset would insist on ADE's 150 class names
data_root = 'data/demo/ade/'
metainfo = dict(classes=('background', 'circle', 'square', 'triangle', 'star'),
                palette=[(120, 120, 120), (220, 20, 60), (0, 130, 230), (0, 200, 80), (250, 170, 30)])
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
_dataset = dict(type=dataset_type, data_root=data_root, metainfo=metainfo, img_suffix='.jpg', seg_map_suffix='.png',
                reduce_zero_label=True)
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(**_dataset, data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**_dataset, data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
