"""ONNX's standard NonMaxSuppression as a traceable PyTorch op (no custom-op library needed at run time).

Same rule as mmcv's/torchvision's ``nms`` that mmdet's ``batched_nms`` calls: boxes (x1, y1, x2, y2), areas without
a +1 offset, a box suppressed when its IoU with a kept higher-scoring box is above the threshold, scores kept when
above the score threshold; per class (ONNX's scores are (batch, classes, boxes): mmdet's class offset trick is the
same thing).
"""
import torch


class NonMaxSuppression(torch.autograd.Function):
    """boxes (B, K, 4), scores (B, C, K) -> selected (S, 3) int64 rows (batch, class, box)."""

    @staticmethod
    def forward(ctx, boxes, scores, max_per_class: int, iou_threshold: float, score_threshold: float):
        from torchvision.ops import nms
        rows = []
        for b in range(scores.shape[0]):
            for c in range(scores.shape[1]):
                idx = (scores[b, c] > score_threshold).nonzero().squeeze(1)
                keep = idx[nms(boxes[b, idx], scores[b, c, idx], iou_threshold)[:max_per_class]]
                rows.append(torch.stack([torch.full_like(keep, b), torch.full_like(keep, c), keep], 1))
        return torch.cat(rows).long() if rows else boxes.new_zeros((0, 3), dtype=torch.long)

    @staticmethod
    def symbolic(g, boxes, scores, max_per_class, iou_threshold, score_threshold):
        return g.op('NonMaxSuppression', boxes, scores,
                    g.op('Constant', value_t=torch.tensor([max_per_class], dtype=torch.long)),
                    g.op('Constant', value_t=torch.tensor([iou_threshold], dtype=torch.float)),
                    g.op('Constant', value_t=torch.tensor([score_threshold], dtype=torch.float)))


def non_max_suppression(boxes, scores, max_per_class: int, iou_threshold: float, score_threshold: float):
    return NonMaxSuppression.apply(boxes, scores, int(max_per_class), float(iou_threshold), float(score_threshold))
