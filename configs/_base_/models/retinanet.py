# RetinaNet (mmdet's) on a vdense backbone. The backbone and FPN in_channels are set per config.
_base_ = 'mmdet::_base_/models/retinanet_r50_fpn.py'
model = dict(
    backbone=dict(_delete_=True, out_indices=(0, 1, 2, 3)),
    # All four stage outputs enter FPN; start_level=1 builds P3-P5 from stages 2-4, P6/P7 from the C5 input.
    neck=dict(start_level=1, add_extra_convs='on_input', num_outs=5))
# With start_level=1 the stage-1 output norm gets no gradient: DDP must be told so.
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
