"""An exported complete model checked against the PyTorch model's own predictions (``model.test_step``, the path
tools/test.py and tools/infer.py take) on images of sizes the graph was not traced at, with the tolerances of
issue 26: classifiers the same top-5 classes (and scores within 1e-3), segmentors >= 99.9 % of the pixels equal.

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
    from mmseg.structures import SegDataSample
    samples = [SegDataSample(metainfo=dict(img_shape=(H, W), ori_shape=(H, W))) for _ in inputs]
    with torch.inference_mode():
        out = model.test_step(dict(inputs=inputs, data_samples=samples))
    return np.stack([s.pred_sem_seg.data[0].numpy() for s in out])


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


def check_against_pytorch(model, task: str, path: str, shapes: Sequence[Tuple[int, int, int]], seed: int = 0
                          ) -> List[Tuple[Tuple[int, int, int], bool, str]]:
    """For each (batch, height, width): (shape, passed, what was measured)."""
    from .onnx_export import ort_session
    session = ort_session(path)
    rng = np.random.default_rng(seed)
    results = []
    for b, h, w in shapes:
        images = rng.integers(0, 256, size=(b, 3, h, w), dtype=np.uint8)
        reference = _reference(model, task, images)
        exported = session.run(None, {'image': images.astype(np.float32)})[0]
        results.append(((b, h, w), *compare(task, reference, exported)))
    return results
