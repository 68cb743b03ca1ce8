"""RetinaNet (one-stage, anchor-based, sigmoid classification, delta box coder) as a graph with the config's test_cfg
inside: the same steps as mmdet's ``BaseDenseHead._predict_by_feat_single`` + ``_bbox_post_process``, batched.

Per level: the top ``nms_pre`` (anchor, class) scores above ``score_thr`` (mmdet's ``filter_scores_and_topk``; here
a TopK of fixed k over the scores padded with -1, so that it holds at every input size, the pads never passing the
threshold), their anchors' deltas decoded and clipped to the input's size, boxes of zero width or height dropped
(``min_bbox_size``), then class-wise NMS (standard NonMaxSuppression) and the best ``max_per_img``.

Outputs, ``max_per_img`` rows per image sorted by score: ``boxes`` (B, M, 4) x1 y1 x2 y2 in the input's pixels,
``scores`` (B, M), ``labels`` (B, M) int64; rows past an image's detections have label -1 and score 0.
"""
import torch
from torch import nn

from .graphs import Preprocess
from .nms import non_max_suppression


def check_supported(model) -> None:
    """NotImplementedError naming what is not a RetinaNet-like head."""
    from mmdet.models.dense_heads import AnchorHead
    from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
    head = getattr(model, 'bbox_head', None)
    reasons = []
    if not isinstance(head, AnchorHead) or hasattr(model, 'roi_head'):
        reasons.append(f'{type(head).__name__ if head is not None else "no bbox_head"} is not a one-stage '
                       'anchor head')
    elif not head.use_sigmoid_cls:
        reasons.append('softmax classification')
    elif not isinstance(head.bbox_coder, DeltaXYWHBBoxCoder):
        reasons.append(f'{type(head.bbox_coder).__name__}')
    elif type(head)._predict_by_feat_single is not AnchorHead._predict_by_feat_single:
        reasons.append(f'{type(head).__name__} has its own postprocessing')
    elif int(head.test_cfg.get('nms_pre', -1)) <= 0 or head.test_cfg.get('nms', {}).get('type', 'nms') != 'nms':
        reasons.append('test_cfg without nms_pre or with an NMS other than plain nms')
    if reasons:
        raise NotImplementedError(f'complete-model export of {type(model).__name__} is not supported yet '
                                  f'({reasons[0]}; RetinaNet-like one-stage detectors, Mask R-CNN, Cascade Mask '
                                  'R-CNN, classifiers and segmentors are); add --backbone-only to export its backbone')


class OneStageDetectorGraph(nn.Module):
    output_names = ('boxes', 'scores', 'labels')
    dynamic_axes = {'boxes': {0: 'batch'}, 'scores': {0: 'batch'}, 'labels': {0: 'batch'}}

    def __init__(self, model):
        super().__init__()
        check_supported(model)
        self.preprocess = Preprocess(model.data_preprocessor)
        self.model = model
        cfg = model.bbox_head.test_cfg
        self.nms_pre = int(cfg['nms_pre'])
        self.score_thr = float(cfg.get('score_thr', 0))
        self.iou_thr = float(cfg['nms']['iou_threshold'])
        self.max_per_img = int(cfg.get('max_per_img', 100))
        self.min_bbox_size = float(cfg.get('min_bbox_size', -1))

    def forward(self, image):
        from mmdet.models.task_modules.coders.delta_xywh_bbox_coder import delta2bbox
        head = self.model.bbox_head
        coder = head.bbox_coder
        x = self.preprocess(image)
        cls_scores, bbox_preds = head(self.model.extract_feat(x))
        priors = head.prior_generator.grid_priors([c.shape[-2:] for c in cls_scores], device=image.device)
        B, C = image.shape[0], head.cls_out_channels
        H, W = image.shape[-2:]
        all_scores, all_labels, all_boxes = [], [], []
        for cls, reg, anchors in zip(cls_scores, bbox_preds, priors):
            scores = cls.permute(0, 2, 3, 1).reshape(B, -1).sigmoid()  # (B, anchors * C), mmdet's order
            deltas = reg.permute(0, 2, 3, 1).reshape(B, -1, 4)
            padded = torch.cat([scores, scores.new_full((B, self.nms_pre), -1.)], 1)
            top, idx = padded.topk(self.nms_pre, dim=1)
            anchor = torch.where(idx < scores.shape[1], idx, 0) // C  # pads point at anchor 0; their score is -1
            top = torch.where(top > self.score_thr, top, top.new_full((), -1.))
            d = deltas.gather(1, anchor.unsqueeze(-1).expand(-1, -1, 4)).reshape(-1, 4)
            boxes = delta2bbox(anchors[anchor.reshape(-1)], d, coder.means, coder.stds, None,
                               add_ctr_clamp=coder.add_ctr_clamp, ctr_clamp=coder.ctr_clamp).view(B, -1, 4)
            all_scores.append(top)
            all_labels.append(idx % C)
            all_boxes.append(boxes)
        scores, labels, boxes = torch.cat(all_scores, 1), torch.cat(all_labels, 1), torch.cat(all_boxes, 1)
        if head.bbox_coder.clip_border:  # to the input's (unpadded) size, computed in the graph
            limit = torch.stack([W, H, W, H]).to(boxes.dtype) if torch.jit.is_tracing() else \
                boxes.new_tensor([W, H, W, H])
            boxes = torch.minimum(boxes.clamp(min=0), limit)
        if self.min_bbox_size >= 0:
            wh = boxes[..., 2:] - boxes[..., :2]
            small = (wh <= self.min_bbox_size).any(-1)
            scores = torch.where(small, scores.new_full((), -1.), scores)
        K = scores.shape[1]
        per_class = torch.where(labels.unsqueeze(1) == torch.arange(C).view(1, C, 1), scores.unsqueeze(1),
                                scores.new_full((), -1.))  # (B, C, K)
        selected = non_max_suppression(boxes, per_class, K, self.iou_thr, self.score_thr)
        b, k = selected[:, 0], selected[:, 2]
        kept = scores.new_full((B, K), -1.).index_put((b, k), scores[b, k])
        final, order = kept.topk(self.max_per_img, dim=1)
        valid = final > self.score_thr
        boxes = boxes.gather(1, order.unsqueeze(-1).expand(-1, -1, 4)) * valid.unsqueeze(-1)
        labels = torch.where(valid, labels.gather(1, order), labels.new_full((), -1))
        return boxes, torch.where(valid, final, final.new_zeros(())), labels
