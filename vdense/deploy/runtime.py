"""Run a file written by tools/export_onnx.py with onnxruntime, numpy and OpenCV only: no torch, mmcv, mmdet or
mmseg import (so a deployment machine installs three packages: onnxruntime, numpy, opencv-python-headless).

    python tools/infer.py MODEL.onnx INPUT... [--out-dir DIR] [--batch-size N] [--providers cpu|cuda]
    python vdense/deploy/runtime.py MODEL.onnx INPUT...      (the same, without a clone's tools/)

The file's metadata (``vdense.preprocess``, ``vdense.task``, ``vdense.classes``) says what to do before the graph:
the test pipeline's ``Resize`` (mmcv's rule and cv2's bilinear resize, as the PyTorch path); the graph does the rest.
Outputs as tools/infer.py's PyTorch path (vdense/apis/inference.py): ``DIR/preds/NAME.json`` per image and
``DIR/results.json`` (same keys), ``DIR/pred/NAME.png`` label maps (segmentation), ``DIR/vis/NAME.png`` drawings
(simpler than the OpenMMLab visualizers). Boxes are mapped back to the input image's pixels; Mask R-CNN's per-box
mask probabilities are pasted there as mmdet pastes them (:func:`paste_masks`) and written as COCO RLE
(:func:`mask_to_rle`, no pycocotools); label maps of a resized input are resized back by nearest neighbour (PyTorch
resizes the logits bilinearly before the argmax: the two can differ along class borders; the demo segmentors have no
resize).

This module imports nothing from vdense (tools/infer.py loads it by path), so that ``import vdense`` (torch) is
never run on this path.
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
from typing import List, Sequence

import numpy as np

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
TASKS = {'detector': 'detection', 'segmentor': 'segmentation', 'classifier': 'classification'}


class RuntimeInputError(ValueError):
    """Said in one line (exit 2)."""


def collect_images(inputs: Sequence[str]) -> List[str]:
    """Files, folders (their images) and globs, as vdense.apis.collect_images."""
    paths = []
    for item in inputs:
        if osp.isdir(item):
            found = sorted(osp.join(item, f) for f in os.listdir(item) if f.lower().endswith(IMAGE_EXTENSIONS))
        elif osp.isfile(item):
            found = [item]
        else:
            found = sorted(p for p in glob.glob(item, recursive=True) if p.lower().endswith(IMAGE_EXTENSIONS))
        if not found:
            raise RuntimeInputError(f'{item}: no such image, folder of images or pattern')
        paths += [p for p in found if p not in paths]
    return paths


def output_names(paths: Sequence[str]) -> List[str]:
    """As vdense.apis.inference.output_names: the path relative to the inputs' common folder, name kept whole."""
    absolute = [osp.abspath(p) for p in paths]
    root = osp.commonpath([osp.dirname(p) for p in absolute])
    return [osp.relpath(p, root) for p in absolute]


def read_image(path: str) -> np.ndarray:
    """BGR uint8 (H, W, 3), EXIF orientation applied (cv2's IMREAD_COLOR, the pipeline's default decoder)."""
    import cv2
    image = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise RuntimeInputError(f'{path}: cannot be decoded as an image')
    return image


def resize_steps(image: np.ndarray, steps: Sequence[dict]):
    """The test pipeline's steps -> (image, (w_scale, h_scale)); mmcv's ``rescale_size`` for keep_ratio."""
    import cv2
    h, w = image.shape[:2]
    scale_w = scale_h = 1.
    for step in steps:
        kind = str(step.get('type', '')).rsplit('.', 1)[-1]
        if kind != 'Resize' or 'scale' not in step:
            raise RuntimeInputError(f'test pipeline step {kind} is not supported by the ONNX runtime (Resize is)')
        scale = step['scale']
        if step.get('keep_ratio', False):
            factor = min(max(scale) / max(h, w), min(scale) / min(h, w))
            new_w, new_h = int(w * factor + 0.5), int(h * factor + 0.5)
        else:
            new_w, new_h = int(scale[0]), int(scale[1])
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        scale_w, scale_h = scale_w * new_w / w, scale_h * new_h / h
        h, w = new_h, new_w
    return image, (scale_w, scale_h)


def paste_masks(masks: np.ndarray, boxes: np.ndarray, height: int, width: int, threshold: float) -> np.ndarray:
    """Per-box mask probabilities (N, mh, mw) -> (N, height, width) bool, as mmdet's ``FCNMaskHead`` pastes them
    (``_do_paste_mask``: bilinear ``grid_sample``, align_corners=False, zeros outside the mask, over the box's pixels
    widened by one; then ``>= mask_thr_binary``). The sampling grid is separable, so the bilinear sampling is two
    small matrix products: rows (h, mh) @ mask (mh, mw) @ columns (mw, w)."""
    out = np.zeros((len(masks), height, width), bool)

    def weights(start, stop, lo, hi, n):
        # pixel centres -> grid_sample's [-1, 1] -> mask coordinates (align_corners=False), float32 as mmdet
        with np.errstate(divide='ignore', invalid='ignore'):
            g = (np.arange(start, stop, dtype=np.float32) + np.float32(0.5) - lo) / (hi - lo) * 2 - 1
            c = ((g + 1) * n - 1) / 2
        c = np.nan_to_num(c, nan=-2., posinf=n + 1., neginf=-2.)
        i0 = np.floor(c).astype(np.int64)
        frac = (c - i0).astype(np.float32)
        m = np.zeros((len(c), n + 2), np.float32)  # columns -1 .. n: the zero padding
        rows = np.arange(len(c))
        np.add.at(m, (rows, np.clip(i0, -1, n) + 1), 1 - frac)
        np.add.at(m, (rows, np.clip(i0 + 1, -1, n) + 1), frac)
        return m[:, 1:-1]

    for i, (mask, box) in enumerate(zip(masks.astype(np.float32), boxes.astype(np.float32))):
        x0, y0, x1, y1 = box
        xa, ya = max(int(np.floor(x0)) - 1, 0), max(int(np.floor(y0)) - 1, 0)
        xb, yb = min(int(np.ceil(x1)) + 1, width), min(int(np.ceil(y1)) + 1, height)
        if xb <= xa or yb <= ya:
            continue
        ry = weights(ya, yb, y0, y1, mask.shape[0])
        rx = weights(xa, xb, x0, x1, mask.shape[1])
        out[i, ya:yb, xa:xb] = (ry @ mask @ rx.T) >= threshold
    return out


def mask_to_rle(mask: np.ndarray) -> dict:
    """COCO's compressed RLE of a bool (H, W) mask, as ``pycocotools.mask.encode`` writes it (column-major runs,
    starting with zeros, each run written as maskApi.c's ``rleToString`` does), without pycocotools."""
    flat = mask.reshape(-1, order='F').astype(np.int8)
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = list(np.diff(bounds))
    if flat.size and flat[0]:
        counts = [0] + counts
    chars = []
    for i, x in enumerate(counts):
        x = int(x) - (int(counts[i - 2]) if i > 2 else 0)
        more = True
        while more:
            c = x & 0x1f
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            chars.append(chr(c + 48 + (0x20 if more else 0)))
    return {'size': [int(mask.shape[0]), int(mask.shape[1])], 'counts': ''.join(chars)}


class OnnxModel:
    """An exported model and what its metadata says; ``__call__`` on BGR images -> one prediction dict each."""

    def __init__(self, path: str, providers: str = 'cpu'):
        import onnxruntime as ort
        names = {'cpu': ['CPUExecutionProvider'], 'cuda': ['CUDAExecutionProvider', 'CPUExecutionProvider']}
        if providers not in names:
            raise RuntimeInputError(f'--providers {providers}: use cpu or cuda')
        if providers == 'cuda' and 'CUDAExecutionProvider' not in ort.get_available_providers():
            raise RuntimeInputError('--providers cuda: this onnxruntime has no CUDA provider (pip install '
                                    'onnxruntime-gpu); use --providers cpu')
        self.session = ort.InferenceSession(path, providers=names[providers])
        meta = self.session.get_modelmeta().custom_metadata_map
        if meta.get('vdense.task') not in TASKS:
            raise RuntimeInputError(f'{path}: not a complete model exported by tools/export_onnx.py '
                                    f'(task {meta.get("vdense.task")!r}; backbone-only files have no predictions)')
        self.task = TASKS[meta['vdense.task']]
        self.preprocess = json.loads(meta['vdense.preprocess'])
        self.classes = json.loads(meta.get('vdense.classes', '[]'))
        self.mask_threshold = float(meta.get('vdense.mask_threshold', 0.5))

    def prepare(self, image_bgr: np.ndarray):
        resized, scale = resize_steps(image_bgr, self.preprocess['test_pipeline'])
        return np.ascontiguousarray(resized[:, :, ::-1].transpose(2, 0, 1)).astype(np.float32), scale

    def __call__(self, images_bgr: Sequence[np.ndarray]) -> List[dict]:
        """Images whose prepared sizes are equal (see :meth:`batches`) in one run."""
        prepared = [self.prepare(img) for img in images_bgr]
        outputs = self.session.run(None, {'image': np.stack([p[0] for p in prepared])})
        results = []
        for i, (image, (_, scale)) in enumerate(zip(images_bgr, prepared)):
            if self.task == 'detection':
                boxes, scores, labels = (o[i] for o in outputs[:3])
                keep = labels >= 0
                boxes = boxes[keep] / np.array([scale[0], scale[1], scale[0], scale[1]], np.float32)
                results.append(dict(bboxes=boxes, scores=scores[keep], labels=labels[keep]))
                if len(outputs) > 3:  # Mask R-CNN: pasted at the image's size with the rescaled boxes, as mmdet
                    results[-1]['masks'] = outputs[3][i][keep]
            elif self.task == 'segmentation':
                import cv2
                seg = outputs[0][i]
                if seg.shape != image.shape[:2]:
                    seg = cv2.resize(seg.astype(np.int32), image.shape[1::-1], interpolation=cv2.INTER_NEAREST)
                results.append(dict(seg=seg))
            else:
                results.append(dict(scores=outputs[0][i]))
        return results

    def batches(self, images: Sequence[np.ndarray], batch_size: int) -> List[List[int]]:
        """Consecutive images of the same prepared size, up to ``batch_size`` (each image then has exactly the
        padding and clipping it has alone, as in PyTorch)."""
        groups, last = [], None
        for i, image in enumerate(images):
            size = self.prepare(image)[0].shape if self.preprocess['test_pipeline'] else image.shape
            if groups and len(groups[-1]) < batch_size and size == last:
                groups[-1].append(i)
            else:
                groups.append([i])
            last = size
        return groups


def _name(classes, i):
    return classes[i] if 0 <= i < len(classes) else str(i)


def _palette(n):
    rng = np.random.RandomState(42)
    return rng.randint(0, 255, size=(max(n, 1), 3)).astype(np.uint8)


def record_of(model: OnnxModel, path, image, pred, out_dir, name, score_thr, topk, draw):
    """The PyTorch path's per-image record (vdense/apis/inference.py), written to preds/NAME.json."""
    import cv2

    def out(sub, suffix):
        p = osp.join(out_dir, sub, name + suffix)
        os.makedirs(osp.dirname(p), exist_ok=True)
        return p

    record = {'image': path, 'height': int(image.shape[0]), 'width': int(image.shape[1]), 'task': model.task}
    vis = image.copy() if draw else None
    if model.task == 'detection':
        keep = pred['scores'] >= score_thr
        boxes, scores, labels = pred['bboxes'][keep], pred['scores'][keep], pred['labels'][keep]
        record.update(bboxes=[[round(float(v), 2) for v in b] for b in boxes],
                      scores=[round(float(s), 5) for s in scores], labels=[int(v) for v in labels],
                      label_names=[_name(model.classes, int(v)) for v in labels])
        masks = None
        if 'masks' in pred:
            masks = paste_masks(pred['masks'][keep], boxes, image.shape[0], image.shape[1], model.mask_threshold)
            record['masks'] = [mask_to_rle(m) for m in masks]
        if draw:
            colors = _palette(len(model.classes))
            if masks is not None:
                for j in np.argsort(scores, kind='stable'):
                    color = colors[int(labels[j]) % len(colors)].astype(np.float32)
                    vis[masks[j]] = (0.5 * vis[masks[j]] + 0.5 * color).astype(np.uint8)
            for j in np.argsort(scores, kind='stable'):  # highest score drawn last, on top
                x1, y1, x2, y2 = (int(round(float(v))) for v in boxes[j])
                color = tuple(int(c) for c in colors[int(labels[j]) % len(colors)])
                cv2.rectangle(vis, (x1, y1), (x2, y2), color, 2)
                cv2.putText(vis, f'{_name(model.classes, int(labels[j]))} {100 * float(scores[j]):.0f}%',
                            (x1, max(y1 - 3, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, color, 1, cv2.LINE_AA)
    elif model.task == 'segmentation':
        seg = pred['seg']
        seg = seg.astype(np.uint8 if seg.max(initial=0) < 256 else np.uint16)
        png = out('pred', '.png')
        cv2.imwrite(png, seg)
        present = sorted(int(v) for v in np.unique(seg))
        record.update(seg_map=png, classes_present=present, class_names=[_name(model.classes, i) for i in present])
        if draw:
            colors = _palette(max(len(model.classes), int(seg.max(initial=0)) + 1))
            vis = (0.5 * vis + 0.5 * colors[seg.astype(np.int64)]).astype(np.uint8)
    else:
        scores = pred['scores']
        order = np.argsort(-scores, kind='stable')[:min(topk, len(scores))]
        record['topk'] = [{'label': int(i), 'label_name': _name(model.classes, int(i)),
                           'score': round(float(scores[i]), 6)} for i in order]
        if draw:
            for r, t in enumerate(record['topk']):
                cv2.putText(vis, f'{t["label_name"]}: {t["score"]:.3f}', (5, 20 * (r + 1)),
                            cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    if draw:
        record['vis'] = out('vis', '.png')
        cv2.imwrite(record['vis'], vis)
    with open(out('preds', '.json'), 'w') as f:
        json.dump(record, f)
    return record


def run(model_path: str, inputs: Sequence[str], out_dir: str, batch_size: int = 1, providers: str = 'cpu',
        score_thr: float = 0.3, topk: int = 5, draw: bool = True) -> List[dict]:
    if not osp.isfile(model_path):
        raise RuntimeInputError(f'{model_path}: not found')
    if batch_size < 1:
        raise RuntimeInputError(f'--batch-size must be >= 1, got {batch_size}')
    paths = collect_images(inputs)
    images = [read_image(p) for p in paths]  # all decoded first: an unreadable file stops before any output
    model = OnnxModel(model_path, providers)
    names = output_names(paths)
    records = []
    for group in model.batches(images, batch_size):
        try:
            preds = model([images[i] for i in group])
        except Exception as e:  # onnxruntime's errors have no common base class: one line naming the files
            reason = (str(e).strip().splitlines() or [type(e).__name__])[-1][:200]
            raise RuntimeInputError(f'{", ".join(paths[i] for i in group)}: the model failed ({reason})') from e
        for i, pred in zip(group, preds):
            records.append(record_of(model, paths[i], images[i], pred, out_dir, names[i], score_thr, topk, draw))
    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, 'results.json'), 'w') as f:
        json.dump(records, f)
    return records


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description='Predict on image files with an exported vdense ONNX model '
                                     '(onnxruntime, numpy and OpenCV only)',
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('model', help='a .onnx file written by tools/export_onnx.py')
    parser.add_argument('inputs', nargs='+', metavar='INPUT', help='image files, folders or globs')
    parser.add_argument('--out-dir', default='outputs')
    parser.add_argument('--batch-size', type=int, default=1, help='images per run (consecutive, same size)')
    parser.add_argument('--providers', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--score-thr', type=float, default=0.3, help='detection: keep and draw scores >= this')
    parser.add_argument('--topk', type=int, default=5, help='classification: the k best classes')
    parser.add_argument('--no-draw', action='store_true', help='write the results only, no drawings')
    args = parser.parse_args(argv)
    try:
        records = run(args.model, args.inputs, args.out_dir, args.batch_size, args.providers, args.score_thr,
                      args.topk, not args.no_draw)
    except (RuntimeInputError, ImportError) as e:
        print(f'error: {e}', file=sys.stderr, flush=True)
        return 2
    print(f'vdense: {len(records)} images, {records[0]["task"]} with onnxruntime', flush=True)
    print(f'vdense: results in {osp.join(args.out_dir, "results.json")}, {osp.join(args.out_dir, "preds")}{os.sep}',
          flush=True)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
