"""ONNX's standard RoiAlign (opset 16) as a traceable op, and mmdet's multi-level RoI feature extraction on it.

mmcv's ``RoIAlign(aligned=True)`` is ONNX RoiAlign with ``coordinate_transformation_mode='half_pixel'`` (the box
shifted by -0.5 pixel, no minimum size of 1), ``sampling_ratio=0`` the same adaptive ``ceil(roi_size / output_size)``
samples per bin; ``aligned=False`` is ``output_half_pixel``. mmcv's own symbolic writes opset-10 RoiAlign with a
manual -0.5 shift, or its custom op ``mmcv::MMCVRoiAlign``: neither is used here.
"""
import torch


class RoiAlign(torch.autograd.Function):
    """feats (B, C, H, W), boxes (N, 4) x1 y1 x2 y2 in input pixels, batch_idx (N,) int64 -> (N, C, oh, ow)."""

    @staticmethod
    def forward(ctx, feats, boxes, batch_idx, out_h: int, out_w: int, spatial_scale: float, sampling_ratio: int,
                aligned: bool):
        from mmcv.ops import roi_align
        rois = torch.cat([batch_idx[:, None].to(boxes.dtype), boxes], 1)
        return roi_align(feats, rois, (out_h, out_w), spatial_scale, sampling_ratio, 'avg', aligned)

    @staticmethod
    def symbolic(g, feats, boxes, batch_idx, out_h, out_w, spatial_scale, sampling_ratio, aligned):
        return g.op('RoiAlign', feats, boxes, batch_idx, mode_s='avg', output_height_i=out_h, output_width_i=out_w,
                    sampling_ratio_i=max(0, sampling_ratio), spatial_scale_f=spatial_scale,
                    coordinate_transformation_mode_s='half_pixel' if aligned else 'output_half_pixel')


def roi_align(feats, boxes, batch_idx, layer):
    """``layer``: an mmcv ``RoIAlign`` module (its output size, scale, sampling ratio and alignment)."""
    if getattr(layer, 'pool_mode', 'avg') != 'avg':
        raise NotImplementedError(f'RoIAlign pool_mode={layer.pool_mode!r}: only avg is exported')
    out_h, out_w = layer.output_size
    return RoiAlign.apply(feats, boxes, batch_idx, int(out_h), int(out_w), float(layer.spatial_scale),
                          int(layer.sampling_ratio), bool(layer.aligned))


def extract_roi_features(extractor, feats, boxes, batch_idx):
    """mmdet's ``SingleRoIExtractor.forward`` on (boxes, batch_idx): each RoI pooled from the level its size maps to
    (the extractor's own ``map_roi_levels``: floor(log2(sqrt(area) / finest_scale)), clamped). The RoIs of a level
    are picked with NonZero and scattered back (ScatterND), so each RoI is pooled once, on its level only; a level
    without RoIs runs RoiAlign on zero boxes."""
    feats = feats[:extractor.num_inputs]
    rois = torch.cat([batch_idx[:, None].to(boxes.dtype), boxes], 1)
    levels = extractor.map_roi_levels(rois, len(feats))
    out_h, out_w = extractor.roi_layers[0].output_size
    out = boxes.new_zeros((boxes.shape[0], extractor.out_channels, int(out_h), int(out_w)))
    for i, (level_feats, layer) in enumerate(zip(feats, extractor.roi_layers)):
        inds = (levels == i).nonzero().squeeze(1)
        out = out.index_put((inds,), roi_align(level_feats, boxes[inds], batch_idx[inds], layer))
    return out
