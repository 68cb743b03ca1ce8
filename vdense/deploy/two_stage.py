"""Mask R-CNN and Cascade Mask R-CNN as graphs with the config's test_cfg inside: the steps of mmdet 3.3's
``TwoStageDetector.predict`` (``RPNHead.predict``, ``StandardRoIHead.predict`` / ``CascadeRoIHead.predict``), batched,
with standard ONNX ops only (TopK, NonMaxSuppression, RoiAlign, NonZero/ScatterND).

- RPN (``RPNHead._predict_by_feat_single`` + ``_bbox_post_process``): per level the top ``nms_pre`` anchor scores
  (sigmoid), their deltas decoded and clipped to the input's size, boxes with a side <= ``min_bbox_size`` dropped,
  NMS per level at ``nms.iou_threshold`` (mmcv's ``batched_nms`` with the level as class: the same coordinate offset
  trick), the best ``max_per_img`` proposals. An image with fewer proposals has its remaining rows marked invalid:
  they go through the RoI heads (zero boxes) and are dropped before the final NMS.
- RoI features: mmdet's ``SingleRoIExtractor`` (level by ``map_roi_levels``, RoIAlign aligned = ONNX RoiAlign
  half_pixel; vdense/deploy/roi_align.py).
- Box head (``BBoxHead._predict_by_feat_single`` + ``multiclass_nms``): softmax, class-specific (or agnostic) deltas
  decoded from the proposals and clipped, candidates with score > ``score_thr``, class-wise NMS (offset trick), the
  best ``max_per_img``. Cascade (``CascadeRoIHead._refine_roi``): each stage but the last regresses the RoIs by its
  argmax class, the class logits are averaged over the stages before the softmax, the last stage's deltas decode.
- Mask head on the final boxes: sigmoid of the predicted class's channel (Cascade: the sigmoids averaged over the
  stages' mask heads, ``merge_aug_masks``), as (28 x 28) probabilities per box: pasting them into the image
  (mmdet's ``_do_paste_mask``, then ``>= mask_thr_binary``) is left to the runtime (vdense/deploy/runtime.py), as the
  pasted masks would be (batch, detections, height, width) at every input size.

Outputs, ``max_per_img`` rows per image sorted by score: ``boxes`` (B, M, 4), ``scores`` (B, M), ``labels`` (B, M)
int64 (-1 past an image's detections, score 0) and ``masks`` (B, M, mh, mw) float32 probabilities in the box.
"""
import torch
import torch.nn.functional as F
from torch import nn

from .graphs import Preprocess
from .nms import non_max_suppression
from .roi_align import extract_roi_features


def _reason_not_supported(model):
    from mmdet.models.dense_heads import RPNHead
    from mmdet.models.roi_heads import CascadeRoIHead, StandardRoIHead
    from mmdet.models.roi_heads.bbox_heads import BBoxHead
    from mmdet.models.roi_heads.mask_heads import FCNMaskHead
    from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
    from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
    rpn, roi = getattr(model, 'rpn_head', None), getattr(model, 'roi_head', None)
    if type(rpn) is not RPNHead or not rpn.use_sigmoid_cls or not isinstance(rpn.bbox_coder, DeltaXYWHBBoxCoder):
        return f'{type(rpn).__name__} is not mmdet\'s sigmoid RPNHead with delta boxes'
    if type(roi) not in (StandardRoIHead, CascadeRoIHead):
        return f'{type(roi).__name__} is not a StandardRoIHead or CascadeRoIHead'
    if not roi.with_mask:
        return 'no mask head (Faster R-CNN)'
    if roi.test_cfg.get('nms', {}).get('type', 'nms') != 'nms' or rpn.test_cfg.get('nms', {}).get('type', 'nms') \
            != 'nms':
        return 'an NMS other than plain nms in test_cfg'
    heads = list(roi.bbox_head) if isinstance(roi, CascadeRoIHead) else [roi.bbox_head]
    masks = list(roi.mask_head) if isinstance(roi, CascadeRoIHead) else [roi.mask_head]
    extractors = (list(roi.bbox_roi_extractor) + list(roi.mask_roi_extractor) if isinstance(roi, CascadeRoIHead)
                  else [roi.bbox_roi_extractor, roi.mask_roi_extractor])
    for head in heads:
        if not isinstance(head, BBoxHead) or head.custom_cls_channels or head.custom_activation or \
                not isinstance(head.bbox_coder, DeltaXYWHBBoxCoder) or head.with_cls is False:
            return f'{type(head).__name__}: not a softmax BBoxHead with delta boxes'
    for head in masks:
        if type(head) is not FCNMaskHead and type(head).predict_by_feat is not FCNMaskHead.predict_by_feat:
            return f'{type(head).__name__}: not an FCNMaskHead'
    for extractor in extractors:
        if type(extractor) is not SingleRoIExtractor:
            return f'{type(extractor).__name__}: not a SingleRoIExtractor'
    if getattr(roi, 'share_roi_extractor', False):
        return 'a shared RoI extractor'
    return None


def check_supported(model) -> None:
    reason = _reason_not_supported(model)
    if reason:
        raise NotImplementedError(f'complete-model export of {type(model).__name__} is not supported ({reason}; '
                                  'Mask R-CNN and Cascade Mask R-CNN are); add --backbone-only to export its backbone')


def _clip(boxes, limit):
    """mmdet's clamp of x to [0, W] and y to [0, H]."""
    return torch.minimum(boxes.clamp(min=0), limit)


def _decode(coder, rois, deltas, limit):
    """rois (N, 4), deltas (N, 4k) -> (N, k, 4), as ``DeltaXYWHBBoxCoder.decode`` (clipped when ``clip_border``)."""
    from mmdet.models.task_modules.coders.delta_xywh_bbox_coder import delta2bbox
    boxes = delta2bbox(rois, deltas, coder.means, coder.stds, None, add_ctr_clamp=coder.add_ctr_clamp,
                       ctr_clamp=coder.ctr_clamp).view(rois.shape[0], -1, 4)
    return _clip(boxes, limit) if coder.clip_border else boxes


def _batched_nms(boxes, scores, groups, valid, iou_thr, score_thr):
    """mmcv's ``batched_nms`` per image: boxes (B, K, 4), scores (B, K) (compared > score_thr), groups (B, K) int
    (class or level) -> a (B, K) score tensor holding the kept candidates' scores and -1 elsewhere. NMS runs within
    each group through mmcv's offset trick (boxes shifted by group * (max coordinate + 1))."""
    B, K = scores.shape
    top = torch.where(valid.unsqueeze(-1), boxes, boxes.new_zeros(())).amax(dim=(1, 2))
    shifted = boxes + (groups.to(boxes.dtype) * (top.view(B, 1) + 1)).unsqueeze(-1)
    scores = torch.where(valid, scores, scores.new_full((), -1.))
    selected = non_max_suppression(shifted, scores.unsqueeze(1), K, iou_thr, score_thr)
    b, k = selected[:, 0], selected[:, 2]
    return scores.new_full((B, K), -1.).index_put((b, k), scores[b, k])


class TwoStageDetectorGraph(nn.Module):
    output_names = ('boxes', 'scores', 'labels', 'masks')
    dynamic_axes = {'boxes': {0: 'batch'}, 'scores': {0: 'batch'}, 'labels': {0: 'batch'}, 'masks': {0: 'batch'}}

    def __init__(self, model):
        super().__init__()
        check_supported(model)
        from mmdet.models.roi_heads import CascadeRoIHead
        self.preprocess = Preprocess(model.data_preprocessor)
        self.model = model
        self.cascade = isinstance(model.roi_head, CascadeRoIHead)
        rpn, rcnn = model.rpn_head.test_cfg, model.roi_head.test_cfg
        self.rpn_nms_pre = int(rpn.get('nms_pre', -1))
        if self.rpn_nms_pre <= 0:
            raise NotImplementedError('complete-model export needs test_cfg.rpn.nms_pre > 0 (the per-level TopK); '
                                      'add --backbone-only to export the backbone')
        self.rpn_levels = len(model.rpn_head.prior_generator.strides)
        self.rpn_max = min(int(rpn.get('max_per_img', 1000)), self.rpn_levels * self.rpn_nms_pre)
        self.rpn_iou = float(rpn['nms']['iou_threshold'])
        self.rpn_min_size = float(rpn.get('min_bbox_size', -1))
        num_classes = self.bbox_heads[-1].num_classes
        self.score_thr = float(rcnn.get('score_thr', 0))
        self.iou_thr = float(rcnn['nms']['iou_threshold'])
        self.max_per_img = min(int(rcnn.get('max_per_img', 100)), self.rpn_max * num_classes)
        self.mask_threshold = float(rcnn.get('mask_thr_binary', 0.5))

    @property
    def bbox_heads(self):
        head = self.model.roi_head
        return list(head.bbox_head) if self.cascade else [head.bbox_head]

    @property
    def metadata(self):
        """Read by tools/export_onnx.py into the file's metadata (the runtime pastes the masks with it)."""
        return {'vdense.mask_threshold': str(self.mask_threshold)}

    def rpn(self, feats, limit):
        """-> proposals (B, P, 4), valid (B, P): mmdet's RPN test path, P = test_cfg.rpn.max_per_img."""
        head = self.model.rpn_head
        cls_scores, bbox_preds = head(feats)
        priors = head.prior_generator.grid_priors([c.shape[-2:] for c in cls_scores], device=cls_scores[0].device)
        B, n = cls_scores[0].shape[0], self.rpn_nms_pre
        all_scores, all_boxes, all_levels = [], [], []
        for level, (cls, reg, anchors) in enumerate(zip(cls_scores, bbox_preds, priors)):
            scores = cls.permute(0, 2, 3, 1).reshape(B, -1).sigmoid()
            deltas = reg.permute(0, 2, 3, 1).reshape(B, -1, 4)
            # a fixed k at every size: the scores padded with -1 (never kept) up to nms_pre
            top, idx = torch.cat([scores, scores.new_full((B, n), -1.)], 1).topk(n, dim=1)
            idx = torch.where(idx < scores.shape[1], idx, 0)
            d = deltas.gather(1, idx.unsqueeze(-1).expand(-1, -1, 4)).reshape(-1, 4)
            all_boxes.append(_decode(head.bbox_coder, anchors[idx.reshape(-1)], d, limit).view(B, n, 4))
            all_scores.append(top)
            all_levels.append(torch.full_like(idx, level))
        scores, boxes, levels = torch.cat(all_scores, 1), torch.cat(all_boxes, 1), torch.cat(all_levels, 1)
        valid = scores >= 0
        if self.rpn_min_size >= 0:
            wh = boxes[..., 2:] - boxes[..., :2]
            valid = valid & (wh > self.rpn_min_size).all(-1)
        kept = _batched_nms(boxes, scores, levels, valid, self.rpn_iou, -0.5)
        best, order = kept.topk(self.rpn_max, dim=1)
        proposals = boxes.gather(1, order.unsqueeze(-1).expand(-1, -1, 4))
        valid = best >= 0
        return proposals * valid.unsqueeze(-1), valid

    def box_stages(self, feats, rois, batch_idx, limit):
        """-> (final RoIs (N, 4), class logits (N, C + 1) averaged over the stages, last stage's deltas)."""
        roi_head, heads = self.model.roi_head, self.bbox_heads
        extractors = list(roi_head.bbox_roi_extractor) if self.cascade else [roi_head.bbox_roi_extractor]
        logits = []
        for stage, (head, extractor) in enumerate(zip(heads, extractors)):
            cls, reg = head(extract_roi_features(extractor, feats, rois, batch_idx))
            logits.append(cls)
            if stage < len(heads) - 1:  # CascadeRoIHead._refine_roi: regress_by_class with the argmax class
                if not head.reg_class_agnostic:
                    label = cls[:, :-1].argmax(dim=1, keepdim=True) * 4
                    reg = reg.gather(1, torch.cat([label, label + 1, label + 2, label + 3], 1))
                rois = _decode(head.bbox_coder, rois, reg, limit)[:, 0]
        return rois, (sum(logits) / float(len(logits)) if len(logits) > 1 else logits[0]), reg

    def masks(self, feats, boxes, batch_idx, labels):
        """The predicted class's mask probabilities (N, mh, mw) (Cascade: averaged over the stages)."""
        roi_head = self.model.roi_head
        heads = list(roi_head.mask_head) if self.cascade else [roi_head.mask_head]
        extractors = list(roi_head.mask_roi_extractor) if self.cascade else [roi_head.mask_roi_extractor]
        probs = [head(extract_roi_features(extractor, feats, boxes, batch_idx)).sigmoid()
                 for head, extractor in zip(heads, extractors)]
        probs = sum(probs) / float(len(probs)) if len(probs) > 1 else probs[0]
        if heads[-1].class_agnostic:
            return probs[:, 0]
        index = labels.clamp(min=0).view(-1, 1, 1, 1).expand(-1, 1, *probs.shape[-2:])
        return probs.gather(1, index)[:, 0]

    def forward(self, image):
        x = self.preprocess(image)
        feats = self.model.extract_feat(x)
        B = image.shape[0]
        H, W = image.shape[-2:]
        limit = torch.stack([W, H, W, H]).to(x.dtype) if torch.jit.is_tracing() else x.new_tensor([W, H, W, H])
        proposals, valid = self.rpn(feats, limit)
        P = proposals.shape[1]
        batch_idx = torch.arange(B).view(B, 1).expand(B, P).reshape(-1)
        rois, logits, deltas = self.box_stages(feats, proposals.reshape(-1, 4), batch_idx, limit)
        head = self.bbox_heads[-1]
        C = head.num_classes
        scores = F.softmax(logits, dim=-1)[:, :C].reshape(B, P * C)
        boxes = _decode(head.bbox_coder, rois, deltas, limit).expand(-1, C, 4).reshape(B, P * C, 4)
        labels = torch.arange(C).repeat(P).view(1, P * C).expand(B, -1)
        candidates = valid.unsqueeze(-1).expand(B, P, C).reshape(B, P * C) & (scores > self.score_thr)
        kept = _batched_nms(boxes, scores, labels, candidates, self.iou_thr, self.score_thr)
        final, order = kept.topk(self.max_per_img, dim=1)
        found = final > self.score_thr
        boxes = boxes.gather(1, order.unsqueeze(-1).expand(-1, -1, 4)) * found.unsqueeze(-1)
        labels = torch.where(found, labels.gather(1, order), labels.new_full((), -1))
        M = self.max_per_img
        masks = self.masks(feats, boxes.reshape(-1, 4), torch.arange(B).view(B, 1).expand(B, M).reshape(-1),
                           labels.reshape(-1))
        masks = masks.view(B, M, *masks.shape[-2:]) * found.view(B, M, 1, 1)
        return boxes, torch.where(found, final, final.new_zeros(())), labels, masks
