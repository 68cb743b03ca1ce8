"""Running a trained model on image files, for every task a config's ``default_scope`` names.

Built on the OpenMMLab inferencers (mmdet's ``DetInferencer``, mmseg's ``MMSegInferencer``, mmpretrain's
``ImageClassificationInferencer``): they apply the config's test pipeline and draw the predictions. vdense adds:

- the config always comes from the caller (never from the checkpoint); the checkpoint is read as data through
  :func:`vdense.engine.read_checkpoint` and must fill the model (:func:`vdense.engine.check_coverage`);
- inputs as files, folders and globs, each image checked readable before anything runs (one-line errors);
- one machine-readable result per image: boxes, scores, labels and masks as COCO RLE (detection), a label PNG of
  the input's size (segmentation), the top-k classes (classification); all of them in ``results.json``.
"""
import glob
import json
import os
import os.path as osp
import sys
from typing import Iterable, List, Optional, Sequence

import numpy as np

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
TASKS = {'mmdet': 'detection', 'mmseg': 'segmentation', 'mmpretrain': 'classification'}


class InferenceInputError(ValueError):
    """An input that names no image, or an image that cannot be read: said in one line."""


def collect_images(inputs: Sequence[str]) -> List[str]:
    """Files, folders (their images, sorted, not recursive) and globs -> image paths, in order, without repeats."""
    paths = []
    for item in inputs:
        if osp.isdir(item):
            found = sorted(osp.join(item, f) for f in os.listdir(item) if f.lower().endswith(IMAGE_EXTENSIONS))
            if not found:
                raise InferenceInputError(f'{item}: the folder holds no images ({", ".join(IMAGE_EXTENSIONS)})')
        elif osp.isfile(item):
            found = [item]
        elif glob.has_magic(item):
            found = sorted(p for p in glob.glob(item, recursive=True)
                           if osp.isfile(p) and p.lower().endswith(IMAGE_EXTENSIONS))
            if not found:
                raise InferenceInputError(f'{item}: the pattern matches no images')
        else:
            raise InferenceInputError(f'{item}: no such file or folder')
        paths += [p for p in found if p not in paths]
    if not paths:
        raise InferenceInputError('no input images given')
    return paths


def check_readable(paths: Iterable[str]) -> List[tuple]:
    """Decodes each image once, so that a broken file stops the run with its name before any model is built.
    Returns the images' (height, width)."""
    import cv2
    sizes = []
    for path in paths:
        try:
            image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        except Exception:  # noqa: BLE001 - any decoder failure is the same answer
            image = None
        if image is None:
            raise InferenceInputError(f'{path}: cannot be read as an image (empty, truncated or not an image file)')
        sizes.append(tuple(image.shape[:2]))
    return sizes


def batches(sizes: Sequence[tuple], batch_size: int, same_size: bool) -> List[List[int]]:
    """Consecutive indices in groups of up to ``batch_size``; with ``same_size``, a group also ends where the image
    size changes (mmseg's and mmpretrain's preprocessors stack a batch without padding when the test pipeline
    keeps the input size)."""
    groups = []
    for i, size in enumerate(sizes):
        if groups and len(groups[-1]) < batch_size and (not same_size or sizes[groups[-1][-1]] == size):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def dataset_meta_from_config(cfg) -> dict:
    """``classes`` (and ``palette``) of the config's test set: its ``metainfo`` or the dataset class's METAINFO."""
    from mmengine.registry import DATASETS, init_default_scope
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    dataset = loader.get('dataset', {})
    while 'dataset' in dataset and 'metainfo' not in dataset:  # wrappers (RepeatDataset, ...)
        dataset = dataset['dataset']
    meta = dict(dataset.get('metainfo') or {})
    if 'classes' not in meta and dataset.get('type'):
        init_default_scope(cfg.default_scope)
        cls = DATASETS.get(dataset['type'])
        meta = {**dict(getattr(cls, 'METAINFO', {}) or {}), **meta}
    return {k: list(v) for k, v in meta.items() if k in ('classes', 'palette')}


class Predictor:
    """One model of any task, ready to run on image files.

    Args:
        config: a config path or :class:`mmengine.Config` (``--cfg-options`` already merged).
        checkpoint: a trained checkpoint of that config's model (read as data; must fill >= 90 % of the model).
        device: 'cpu', 'cuda', 'cuda:1', ...
    """

    def __init__(self, config, checkpoint: str, device: str = 'cpu'):
        from mmengine.config import Config

        import vdense.models  # noqa: F401  (the backbones' registry entries, and the weights-only reader)
        from vdense.engine import MIN_COVERAGE_TEST, check_coverage, read_checkpoint
        cfg = Config.fromfile(config) if isinstance(config, str) else config
        self.task = TASKS.get(cfg.get('default_scope'))
        if self.task is None:
            raise InferenceInputError(f'the config\'s default_scope is {cfg.get("default_scope")!r}; expected one of '
                                      f'{sorted(TASKS)}')
        if not osp.isfile(checkpoint):
            raise InferenceInputError(f'{checkpoint}: checkpoint not found')
        state = read_checkpoint(checkpoint)  # a bad file fails here, in one line, before anything is built
        ckpt_meta = state.get('meta') or {}
        self.cfg = cfg
        if self.task == 'detection':
            from mmdet.apis import DetInferencer
            self.inferencer = DetInferencer(model=cfg, weights=checkpoint, device=device, show_progress=False)
        elif self.task == 'segmentation':
            from mmseg.apis import MMSegInferencer
            self.inferencer = MMSegInferencer(model=cfg, weights=checkpoint, device=device)
        else:
            from mmpretrain.apis import ImageClassificationInferencer
            self.inferencer = ImageClassificationInferencer(model=cfg, pretrained=checkpoint, device=device)
        self.model = self.inferencer.model
        check_coverage(self.model, state, checkpoint, MIN_COVERAGE_TEST, 'inference')
        del state
        meta = dict(ckpt_meta.get('dataset_meta') or {})
        if 'classes' not in meta:  # the config's classes, not mmdet's default COCO names
            meta = dataset_meta_from_config(cfg)
        if meta.get('classes') and self.task != 'classification':
            if self.task == 'segmentation' and not meta.get('palette'):
                rng = np.random.RandomState(42)
                meta['palette'] = rng.randint(0, 255, (len(meta['classes']), 3)).tolist()
            self.model.dataset_meta = meta
            self.inferencer.visualizer.dataset_meta = meta
        self.classes = list((getattr(self.model, 'dataset_meta', None) or {}).get('classes') or meta.get('classes')
                            or [])

    def __call__(self, paths: Sequence[str], batch_size: int = 1, score_thr: float = 0.3, topk: int = 5):
        """Predictions for ``paths``: (data samples, drawn RGB images or None)."""
        if self.task == 'detection':
            out = self.inferencer(list(paths), batch_size=batch_size, return_vis=True, no_save_vis=True,
                                  pred_score_thr=score_thr, return_datasamples=True, no_save_pred=True)
            return out['predictions'], out['visualization']
        if self.task == 'segmentation':  # label maps (numpy, the input's size) and drawings
            out = self.inferencer(list(paths), batch_size=batch_size, return_vis=True, return_datasamples=False,
                                  pred_out_dir='')
            preds, vis = out['predictions'], out['visualization']
            return (preds, vis) if isinstance(preds, list) else ([preds], [vis])
        return self.inferencer(list(paths), batch_size=batch_size, return_datasamples=True), None


def _rle(mask: np.ndarray) -> dict:
    from pycocotools import mask as mask_utils
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {'size': [int(s) for s in rle['size']], 'counts': rle['counts'].decode('ascii')}


def _detection_record(sample, classes, score_thr: float) -> dict:
    inst = sample.pred_instances
    keep = inst.scores >= score_thr
    inst = inst[keep]
    labels = inst.labels.cpu().tolist()
    record = {'bboxes': [[round(float(v), 2) for v in b] for b in inst.bboxes.cpu().tolist()],
              'scores': [round(float(s), 5) for s in inst.scores.cpu().tolist()],
              'labels': labels,
              'label_names': [classes[i] if i < len(classes) else str(i) for i in labels]}
    if 'masks' in inst:
        record['masks'] = [_rle(m) for m in inst.masks.cpu().numpy()]
    return record


def _draw_topk(image_bgr: np.ndarray, topk: List[dict]) -> np.ndarray:
    import cv2
    out = image_bgr.copy()
    scale = max(out.shape[:2]) / 400
    for i, t in enumerate(topk):
        text = f'{t["label_name"]}: {t["score"]:.3f}'
        y = int((i + 1) * 22 * max(scale, 0.6))
        cv2.putText(out, text, (5, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * max(scale, 0.6), (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(out, text, (5, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * max(scale, 0.6), (255, 255, 255), 1,
                    cv2.LINE_AA)
    return out


def _unique_stems(paths: Sequence[str]) -> List[str]:
    stems, seen = [], {}
    for p in paths:
        stem = osp.splitext(osp.basename(p))[0]
        n = seen.get(stem, 0)
        seen[stem] = n + 1
        stems.append(stem if n == 0 else f'{stem}_{n}')
    return stems


def run_inference(config, checkpoint: str, inputs: Sequence[str], out_dir: str, device: str = 'cpu',
                  batch_size: int = 1, score_thr: float = 0.3, topk: int = 5, show_progress: bool = True,
                  draw: bool = True) -> List[dict]:
    """Predicts every image ``inputs`` name and writes under ``out_dir``:

    - ``vis/<name>.png``: the predictions drawn (boxes and masks above ``score_thr``, segmentation overlay,
      top-k classes);
    - ``preds/<name>.json`` per image and ``results.json`` for all: ``{'image', 'height', 'width', 'task', ...}``
      with ``bboxes`` (x1, y1, x2, y2 in input pixels), ``scores``, ``labels``, ``label_names`` and ``masks``
      (COCO RLE) for detection (predictions >= ``score_thr``); ``seg_map`` (the PNG's path) and
      ``classes_present`` for segmentation; ``topk`` (``label``, ``label_name``, ``score``, best first) for
      classification;
    - ``pred/<name>.png`` (segmentation): the label map, the input's size, uint8 (uint16 beyond 255 classes).

    Returns the records of ``results.json``.
    """
    import cv2
    from mmengine.utils import ProgressBar
    paths = collect_images(inputs)
    sizes = check_readable(paths)
    if batch_size < 1:
        raise InferenceInputError(f'--batch-size must be >= 1, got {batch_size}')
    predictor = Predictor(config, checkpoint, device)
    for sub in ('vis', 'preds') + (('pred',) if predictor.task == 'segmentation' else ()):
        os.makedirs(osp.join(out_dir, sub), exist_ok=True)
    stems = _unique_stems(paths)
    records = []
    bar = ProgressBar(len(paths), file=sys.stderr) if show_progress else None
    for group in batches(sizes, batch_size, same_size=predictor.task != 'detection'):
        chunk = [paths[i] for i in group]
        samples, drawn = predictor(chunk, batch_size=len(chunk), score_thr=score_thr, topk=topk)
        for j, (path, sample) in enumerate(zip(chunk, samples)):
            stem = stems[group[j]]
            image = cv2.imread(path, cv2.IMREAD_COLOR)
            record = {'image': path, 'height': int(image.shape[0]), 'width': int(image.shape[1]),
                      'task': predictor.task}
            vis = None if drawn is None else cv2.cvtColor(drawn[j], cv2.COLOR_RGB2BGR)
            if predictor.task == 'detection':
                record.update(_detection_record(sample, predictor.classes, score_thr))
            elif predictor.task == 'segmentation':
                seg = np.asarray(sample)
                seg = seg.astype(np.uint8 if seg.max(initial=0) < 256 else np.uint16)
                png = osp.join(out_dir, 'pred', stem + '.png')
                cv2.imwrite(png, seg)
                labels = sorted(int(v) for v in np.unique(seg))
                record.update(seg_map=png, classes_present=labels,
                              class_names=[predictor.classes[i] if i < len(predictor.classes) else str(i)
                                           for i in labels])
            else:
                scores = sample.pred_score.float().cpu()
                k = min(topk, scores.numel())
                values, indices = scores.topk(k)
                record['topk'] = [{'label': int(i), 'label_name': (predictor.classes[int(i)]
                                                                   if int(i) < len(predictor.classes) else str(int(i))),
                                   'score': round(float(v), 6)} for v, i in zip(values, indices)]
                vis = _draw_topk(image, record['topk'])
            if draw and vis is not None:
                record['vis'] = osp.join(out_dir, 'vis', stem + '.png')
                cv2.imwrite(record['vis'], vis)
            with open(osp.join(out_dir, 'preds', stem + '.json'), 'w') as f:
                json.dump(record, f)
            records.append(record)
            if bar is not None:
                bar.update()
    if bar is not None:
        sys.stderr.write('\n')
    with open(osp.join(out_dir, 'results.json'), 'w') as f:
        json.dump(records, f)
    return records


def predictions_summary(records: Sequence[dict]) -> Optional[str]:
    """One line per task for the tool's final message."""
    if not records:
        return None
    task = records[0]['task']
    if task == 'detection':
        n = sum(len(r['scores']) for r in records)
        return f'{len(records)} images, {n} detections'
    if task == 'segmentation':
        return f'{len(records)} images segmented'
    return f'{len(records)} images classified'
