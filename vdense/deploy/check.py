"""An exported complete model checked against the PyTorch model's own predictions (``model.test_step``, the path
tools/test.py and tools/infer.py take) on images of sizes the graph was not traced at, with the tolerances of
issue 26: classifiers the same top-5 classes (and scores within 1e-3), segmentors >= 99.9 % of the pixels equal,
detectors each PyTorch detection with score >= 0.05 matched by one of the same class with box IoU >= 0.99 and
|score difference| <= 1e-3 (Mask R-CNN: and mask IoU >= 0.99 or one pixel apart, the exported per-box
probabilities pasted by the runtime's ``paste_masks``, so that the check covers what tools/infer.py writes).

The images are random RGB noise (0-255, seeded): the check is of the graph, not of the weights.
"""
from typing import List, Sequence, Tuple

import numpy as np
import torch

SCORE_TOLERANCE = 1e-3
PIXEL_AGREEMENT = 0.999


def _reference(model, task: str, images: np.ndarray) -> np.ndarray:
    """The library's predictions for uint8 RGB images (N, 3, H, W), fed as the pipeline feeds them (BGR uint8,
    img_shape = ori_shape = the image's size)."""
    inputs = [torch.from_numpy(np.ascontiguousarray(img[::-1])) for img in images]  # RGB -> BGR as loaded
    H, W = images.shape[2:]
    if task == 'classifier':
        with torch.inference_mode():
            out = model.test_step(dict(inputs=inputs, data_samples=None))
        return np.stack([s.pred_score.numpy() for s in out])
    if task == 'detector':
        from mmdet.structures import DetDataSample
        samples = [DetDataSample(metainfo=dict(img_shape=(H, W), ori_shape=(H, W), scale_factor=(1., 1.)))
                   for _ in inputs]
        with torch.inference_mode():
            out = model.test_step(dict(inputs=inputs, data_samples=samples))
        return [(s.pred_instances.bboxes.numpy(), s.pred_instances.scores.numpy(), s.pred_instances.labels.numpy(),
                 s.pred_instances.masks.numpy() if 'masks' in s.pred_instances else None) for s in out]
    from mmseg.structures import SegDataSample
    samples = [SegDataSample(metainfo=dict(img_shape=(H, W), ori_shape=(H, W))) for _ in inputs]
    with torch.inference_mode():
        out = model.test_step(dict(inputs=inputs, data_samples=samples))
    return np.stack([s.pred_sem_seg.data[0].numpy() for s in out])


MIN_SCORE, BOX_IOU, MASK_IOU = 0.05, 0.99, 0.99


def _box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt, rb = np.maximum(a[:, None, :2], b[None, :, :2]), np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda x: (x[:, 2:] - x[:, :2]).prod(-1)  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None, :] - inter, 1e-12)


def _mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.


def _same_mask(a: np.ndarray, b: np.ndarray) -> bool:
    """IoU >= 0.99, or a single pixel apart: box coordinates ~1e-4 px apart (float rounding through the heads) move
    a pixel whose pasted probability is that close to the threshold, and in a mask under 100 pixels one pixel is
    over 1 % (seen on the random-weight full-size configs, not on the demos)."""
    return _mask_iou(a, b) >= MASK_IOU or int(np.logical_xor(a, b).sum()) <= 1


def compare_detections(reference, exported, mask_threshold: float = 0.5) -> Tuple[bool, str]:
    """reference: per image (boxes, scores, labels, masks or None); exported: the graph's (boxes, scores, labels[,
    masks]) batch arrays. Each reference detection with score >= 0.05 needs its own exported match (greedy, best
    score first)."""
    from .runtime import paste_masks
    matched = total = 0
    worst_mask, missed = 1., None
    for i, (boxes, scores, labels, masks) in enumerate(reference):
        keep = exported[2][i] >= 0
        e_boxes, e_scores, e_labels = exported[0][i][keep], exported[1][i][keep], exported[2][i][keep]
        e_masks = None
        if masks is not None:
            e_masks = paste_masks(exported[3][i][keep], e_boxes, *masks.shape[1:], mask_threshold)
        free = np.ones(len(e_scores), bool)
        iou = _box_iou(boxes, e_boxes) if len(boxes) and len(e_boxes) else np.zeros((len(boxes), len(e_boxes)))
        for j in np.argsort(-scores, kind='stable'):
            if scores[j] < MIN_SCORE:
                continue
            total += 1
            ok = free & (e_labels == labels[j]) & (iou[j] >= BOX_IOU)
            ok &= np.abs(e_scores - scores[j]) <= SCORE_TOLERANCE
            mask_ious = {}
            if e_masks is not None:
                mask_ious = {k: _mask_iou(masks[j], e_masks[k]) for k in np.flatnonzero(ok)}
                ok[list(mask_ious)] = [_same_mask(masks[j], e_masks[k]) for k in mask_ious]
            if ok.any():
                k = np.flatnonzero(ok)[0]
                free[k] = False
                matched += 1
                worst_mask = min(worst_mask, mask_ious.get(k, 1.))
            elif missed is None:  # what the closest exported detection of its class differs in
                same = np.flatnonzero(e_labels == labels[j])
                if not len(same):
                    missed = f'score {scores[j]:.4f}: none of its class'
                else:
                    k = same[np.argmax(iou[j][same])]
                    missed = f'score {scores[j]:.4f}: closest box IoU {iou[j][k]:.4f}, score ' \
                             f'{e_scores[k]:.4f}' + (f', mask IoU {_mask_iou(masks[j], e_masks[k]):.4f}'
                                                     if e_masks is not None else '')
    masks_text = f' (masks: min IoU {worst_mask:.4f})' if len(reference) and reference[0][3] is not None else ''
    missed_text = f'; unmatched: {missed}' if missed else ''
    return matched == total, f'{matched}/{total} detections matched{masks_text}{missed_text}'


def compare(task: str, reference: np.ndarray, exported: np.ndarray) -> Tuple[bool, str]:
    """(within the tolerances, what was measured)."""
    if task == 'classifier':
        k = min(5, reference.shape[1])
        top_ref = np.argsort(-reference, axis=1, kind='stable')[:, :k]
        top_onnx = np.argsort(-exported, axis=1, kind='stable')[:, :k]
        same = bool((top_ref == top_onnx).all())
        diff = float(np.abs(reference - exported).max())
        return same and diff <= SCORE_TOLERANCE, f'top-{k} {"equal" if same else "DIFFERENT"}, max |score diff| ' \
                                                 f'{diff:.1e}'
    agreement = float((reference == exported).mean())
    return agreement >= PIXEL_AGREEMENT, f'{100 * agreement:.3f} % pixels equal'


def check_against_pytorch(model, task: str, path: str, shapes: Sequence[Tuple[int, int, int]], seed: int = 0,
                          mask_threshold: float = 0.5) -> List[Tuple[Tuple[int, int, int], bool, str]]:
    """For each (batch, height, width): (shape, passed, what was measured)."""
    from .onnx_export import ort_session
    session = ort_session(path)
    rng = np.random.default_rng(seed)
    results = []
    for b, h, w in shapes:
        images = rng.integers(0, 256, size=(b, 3, h, w), dtype=np.uint8)
        reference = _reference(model, task, images)
        exported = session.run(None, {'image': images.astype(np.float32)})
        compared = compare_detections(reference, exported, mask_threshold) if task == 'detector' else \
            compare(task, reference, exported[0])
        results.append(((b, h, w), *compared))
    return results
