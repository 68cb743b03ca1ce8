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
from typing import Iterable, List, Optional, Sequence, Tuple

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


def image_loading(cfg) -> dict:
    """How the config's test pipeline decodes a file (its ``LoadImageFromFile``): ``imdecode_backend``, ``color_type``
    and ``backend_args``, so that the check and the model see the very same array."""
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    dataset = loader.get('dataset', {})
    while 'pipeline' not in dataset and 'dataset' in dataset:
        dataset = dataset['dataset']
    for step in dataset.get('pipeline') or cfg.get('test_pipeline') or []:
        if str(step.get('type', '')).split('.')[-1] == 'LoadImageFromFile':
            return dict(imdecode_backend=step.get('imdecode_backend', 'cv2'),
                        color_type=step.get('color_type', 'color'), backend_args=step.get('backend_args'))
    return dict(imdecode_backend='cv2', color_type='color', backend_args=None)


def _header_size(data: bytes) -> Optional[Tuple[int, int]]:
    """(width, height) from the image header (Pillow reads no pixels), or None where Pillow cannot tell."""
    import io

    from PIL import Image
    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # the size is all we ask; the check is ours
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:  # noqa: BLE001 - a format Pillow does not know: the decoder decides
        return None
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def _refuse_size(path: str, w: int, h: int, max_pixels: int) -> None:
    raise InferenceInputError(f'{path}: {w}x{h} = {h * w / 1e6:.3g} MP, above the {max_pixels / 1e6:.3g} MP '
                              'limit (--max-pixels); downscale or tile it')


def decode_image(path: str, loading: Optional[dict] = None, max_pixels: Optional[int] = None) -> np.ndarray:
    """The image as the pipeline's ``LoadImageFromFile`` decodes it (mmcv, its backend and colour type, EXIF
    orientation applied): BGR uint8 (H, W, 3). Raises :class:`InferenceInputError` naming the file; with
    ``max_pixels``, a larger image is refused from its header, before it is decoded."""
    import mmcv
    from mmengine import fileio
    loading = loading or {}
    backend = loading.get('imdecode_backend', 'cv2')
    data = fileio.get(path, backend_args=loading.get('backend_args'))
    if max_pixels is not None:  # from the header, before decoding allocates it (a small file can hold a huge image)
        size = _header_size(data)
        if size is not None and size[0] * size[1] > max_pixels:
            _refuse_size(path, *size, max_pixels)
    try:
        image = mmcv.imfrombytes(data,
                                 flag=loading.get('color_type', 'color'), backend=backend)
    except Exception as e:  # noqa: BLE001 - any decoder failure is the same answer
        raise InferenceInputError(f'{path}: cannot be decoded as an image ({type(e).__name__}: '
                                  f'{str(e).splitlines()[0][:120] if str(e) else ""})') from None
    if image is None or image.size == 0:
        raise InferenceInputError(f'{path}: cannot be decoded as an image by {backend} (empty, truncated, or a '
                                  'sample type it cannot read, e.g. a 32-bit float TIFF)')
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise InferenceInputError(f'{path}: decodes to {image.dtype} {image.shape}; the model takes 8-bit colour '
                                  'images (convert it, e.g. to an 8-bit PNG)')
    return image


# Bounds on what is run: an aspect ratio the test pipelines' Resize (e.g. to 1333x800, keeping the ratio) can shrink
# without the short side vanishing, and a pixel count that bounds memory (3 bytes per pixel decoded).
MAX_ASPECT = 100
MAX_PIXELS = 64_000_000


def check_image(path: str, image: np.ndarray, max_pixels: int = MAX_PIXELS) -> None:
    """Refuses (one line naming the file) an image the model would fail on or that would exhaust memory."""
    h, w = image.shape[:2]
    if max(h, w) > MAX_ASPECT * min(h, w):
        raise InferenceInputError(f'{path}: {w}x{h} pixels, an aspect ratio above {MAX_ASPECT}:1; resized to the '
                                  'model\'s scale its short side would vanish: crop it into tiles first')
    if h * w > max_pixels:
        _refuse_size(path, w, h, max_pixels)


def check_readable(paths: Iterable[str], loading: Optional[dict] = None, max_pixels: int = MAX_PIXELS,
                   keep_bytes: int = 0) -> Tuple[List[tuple], dict]:
    """Decodes each image (as the pipeline will) and checks it, so that a file the model would fail on stops the
    run with its name before any model is built. Returns the images' (height, width) and the decoded images kept
    for the run, up to ``keep_bytes`` in all (the others are decoded again when their batch runs)."""
    sizes, kept, held = [], {}, 0
    for path in paths:
        image = decode_image(path, loading, max_pixels)
        check_image(path, image, max_pixels)
        sizes.append(tuple(image.shape[:2]))
        if held + image.nbytes <= keep_bytes:
            kept[path] = image
            held += image.nbytes
    return sizes, kept


def output_names(paths: Sequence[str]) -> List[str]:
    """Each input's path relative to the inputs' common folder, file name kept whole (``a/x.png``, ``a/x_1.jpg``):
    distinct inputs get distinct names, so outputs (``preds/a/x.png.json``) never overwrite each other."""
    absolute = [osp.abspath(p) for p in paths]
    root = osp.commonpath([osp.dirname(p) for p in absolute])
    return [osp.relpath(p, root) for p in absolute]


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


MIN_DRAW_SIDE = 64


class Predictor:
    """One model of any task, ready to run on images.

    Args:
        config: a config path or :class:`mmengine.Config` (``--cfg-options`` already merged).
        checkpoint: a trained checkpoint of that config's model (read as data only; must be that model, see
            :func:`vdense.engine.check_coverage`).
        device: 'cpu', 'cuda', 'cuda:1', ...

    ``Predictor(cfg, ckpt)('img.jpg')`` (or a list of paths, or decoded BGR arrays) returns one data sample per
    image: ``pred_instances`` (detection), ``pred_sem_seg`` (segmentation), ``pred_score`` (classification).
    """

    def __init__(self, config, checkpoint: str, device: str = 'cpu'):
        import warnings

        from mmengine.config import Config
        from mmengine.runner.checkpoint import _load_checkpoint_to_model

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
        self.cfg = cfg
        self.loading = image_loading(cfg)
        # The inferencers are built without weights (they would read the file again, as pickle): the checkpoint
        # read above is checked against the model, then loaded into it.
        with warnings.catch_warnings(), self._scope():
            warnings.simplefilter('ignore')  # "weights is None": they are loaded below
            if self.task == 'detection':
                from mmdet.apis import DetInferencer
                self.inferencer = DetInferencer(model=cfg, weights=None, device=device, show_progress=False)
            elif self.task == 'segmentation':
                from mmseg.apis import MMSegInferencer
                self.inferencer = MMSegInferencer(model=cfg, weights=None, device=device)
            else:
                from mmpretrain.apis import ImageClassificationInferencer
                self.inferencer = ImageClassificationInferencer(model=cfg, pretrained=False, device=device)
        self.inferencer.show_progress = False  # tools/infer.py shows its own, per image
        self.model = self.inferencer.model
        check_coverage(self.model, state, checkpoint, MIN_COVERAGE_TEST, 'inference')
        _load_checkpoint_to_model(self.model, state)
        ckpt_meta = state.get('meta') if isinstance(state.get('meta'), dict) else {}
        del state
        # classes and palette only: a training checkpoint's dataset_meta also carries label_map / reduce_zero_label,
        # which the visualizers refuse.
        meta = {k: v for k, v in dict(ckpt_meta.get('dataset_meta') or {}).items() if k in ('classes', 'palette')}
        if 'classes' not in meta:  # the config's classes, not the inferencers' default COCO/ImageNet names
            meta = dataset_meta_from_config(cfg)
        if self.task == 'segmentation' and meta.get('classes') and not meta.get('palette'):
            rng = np.random.RandomState(42)
            meta['palette'] = rng.randint(0, 255, (len(meta['classes']), 3)).tolist()
        if meta.get('classes'):
            self.model.dataset_meta = {**dict(getattr(self.model, 'dataset_meta', None) or {}), **meta}
            if self.task != 'classification':
                self.inferencer.visualizer.dataset_meta = meta
        self.classes = list(meta.get('classes') or (getattr(self.model, 'dataset_meta', None) or {}).get('classes')
                            or [])

    def _scope(self):
        """The config's registry scope for building and running: mmpretrain's inferencer looks its transforms up in
        the current default scope, which another task's Predictor in the same process may have set (PackInputs
        'is not in the mmseg::transform registry')."""
        from mmengine.registry import DefaultScope
        return DefaultScope.overwrite_default_scope(self.cfg.default_scope)

    def __call__(self, images, batch_size: int = 1) -> list:
        """Data samples for ``images``: one path, or a list of paths or decoded BGR arrays (as
        :func:`decode_image` returns them)."""
        if isinstance(images, (str, np.ndarray)):
            images = [images]
        arrays = [decode_image(i, self.loading) if isinstance(i, str) else i for i in images]
        with self._scope():
            return self._predict(arrays, batch_size)

    def _predict(self, arrays, batch_size: int) -> list:
        if self.task == 'classification':
            return self.inferencer(arrays, batch_size=batch_size, return_datasamples=True)
        kwargs = dict(no_save_vis=True, no_save_pred=True) if self.task == 'detection' else dict(pred_out_dir='')
        out = self.inferencer(arrays, batch_size=batch_size, return_vis=False, return_datasamples=True, **kwargs)
        preds = out['predictions'] if isinstance(out, dict) else out  # mmseg returns the samples themselves
        return preds if isinstance(preds, list) else [preds]

    def draw(self, image_bgr: np.ndarray, sample, score_thr: float = 0.3, topk: int = 5,
             max_side: int = 2048) -> np.ndarray:
        """The predictions drawn on a copy of the image downscaled to at most ``max_side`` pixels (memory and time
        bounded whatever the input's size), or enlarged to at least :data:`MIN_DRAW_SIDE` (a few pixels show
        nothing, and the drawers place labels inside the regions); BGR."""
        import cv2
        h, w = image_bgr.shape[:2]
        scale = min(max_side / max(h, w), max(1.0, MIN_DRAW_SIDE / min(h, w)))
        scale = 1.0 if 0.999 < scale < 1.001 else scale
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = image_bgr if scale == 1 else cv2.resize(
            image_bgr, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST)
        if self.task == 'classification':
            return _draw_topk(small, _topk(sample, self.classes, topk))
        sample = _scaled_sample(sample, scale, size) if scale != 1 else sample
        visualizer = self.inferencer.visualizer
        rgb = np.ascontiguousarray(small[..., ::-1])
        if self.task == 'detection':
            visualizer.add_datasample('image', rgb, sample, draw_gt=False, pred_score_thr=score_thr, show=False)
        else:
            visualizer.add_datasample('image', rgb, sample, draw_gt=False, show=False)
        return np.ascontiguousarray(visualizer.get_image()[..., ::-1])


def _scaled_sample(sample, scale: float, size: tuple):
    """A copy of a detection or segmentation data sample at ``scale`` (``size`` = (w, h)) for drawing."""
    import torch.nn.functional as F
    sample = sample.clone()
    if 'pred_instances' in sample:
        inst = sample.pred_instances
        inst.bboxes = inst.bboxes * scale
        if 'masks' in inst and len(inst):
            inst.masks = F.interpolate(inst.masks[:, None].float(), size=(size[1], size[0]))[:, 0] > 0.5
    if 'pred_sem_seg' in sample:
        from mmengine.structures import PixelData
        seg = sample.pred_sem_seg.data[None].float()
        sample.pred_sem_seg = PixelData(data=F.interpolate(seg, size=(size[1], size[0]))[0].long())
    return sample


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


def _topk(sample, classes, k: int) -> List[dict]:
    scores = sample.pred_score.float().cpu()
    values, indices = scores.topk(min(k, scores.numel()))
    return [{'label': int(i), 'label_name': classes[int(i)] if int(i) < len(classes) else str(int(i)),
             'score': round(float(v), 6)} for v, i in zip(values, indices)]


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


# Decoded images kept from the check for the run (the others are decoded again when their batch comes).
KEEP_DECODED_BYTES = 256 << 20


def run_inference(config, checkpoint: str, inputs: Sequence[str], out_dir: str, device: str = 'cpu',
                  batch_size: int = 1, score_thr: float = 0.3, topk: int = 5, show_progress: bool = True,
                  draw: bool = True, draw_max_side: int = 2048, max_pixels: int = MAX_PIXELS) -> List[dict]:
    """Predicts every image ``inputs`` name and writes under ``out_dir``, each output named by the input's path
    relative to the inputs' common folder, file name kept whole (``NAME`` below, e.g. ``a/x.jpg``):

    - ``vis/NAME.png``: the predictions drawn (boxes and masks above ``score_thr``, segmentation overlay, top-k
      classes) on a copy downscaled to at most ``draw_max_side`` pixels; nothing when ``draw`` is False;
    - ``preds/NAME.json`` per image and ``results.json`` for all: ``{'image', 'height', 'width', 'task', ...}``
      with ``bboxes`` (x1, y1, x2, y2 in input pixels), ``scores``, ``labels``, ``label_names`` and ``masks``
      (COCO RLE) for detection (predictions >= ``score_thr``); ``seg_map`` (the PNG's path) and
      ``classes_present`` for segmentation; ``topk`` (``label``, ``label_name``, ``score``, best first) for
      classification;
    - ``pred/NAME.png`` (segmentation): the label map, the input's size, uint8 (uint16 beyond 255 classes).

    Every image is decoded as the config's pipeline decodes it (EXIF orientation applied) and checked before the
    model is built (:func:`check_readable`). Memory: the model, plus ``batch_size`` decoded images (at most
    ``max_pixels`` x 3 bytes each) and what the model makes of them (detection masks: one byte per pixel and
    instance kept), plus up to 256 MB of images decoded by the check. Returns the records of ``results.json``.
    """
    import cv2
    from mmengine.utils import ProgressBar
    paths = collect_images([inputs] if isinstance(inputs, str) else inputs)
    if batch_size < 1:
        raise InferenceInputError(f'--batch-size must be >= 1, got {batch_size}')
    cfg = config
    if isinstance(config, str):
        from mmengine.config import Config
        cfg = Config.fromfile(config)
    loading = image_loading(cfg)
    sizes, decoded = check_readable(paths, loading, max_pixels, keep_bytes=KEEP_DECODED_BYTES)
    predictor = Predictor(cfg, checkpoint, device)
    names = output_names(paths)
    records = []
    bar = ProgressBar(len(paths), file=sys.stderr) if show_progress else None
    for group in batches(sizes, batch_size, same_size=predictor.task != 'detection'):
        images = [decoded.pop(paths[i], None) for i in group]
        images = [decode_image(paths[i], loading) if image is None else image for i, image in zip(group, images)]
        try:
            samples = predictor(images, batch_size=len(images))
        except (RuntimeError, ValueError, AssertionError, IndexError, cv2.error) as e:  # one line, naming the files
            reason = (str(e).strip().splitlines() or [type(e).__name__])[-1][:200]
            raise InferenceInputError(f'{", ".join(paths[i] for i in group)}: the model failed on '
                                      f'{"it" if len(group) == 1 else "this batch"} ({type(e).__name__}: {reason})'
                                      ) from e
        for i, image, sample in zip(group, images, samples):
            records.append(_write_outputs(predictor, paths[i], names[i], image, sample, out_dir, score_thr, topk,
                                          draw, draw_max_side, cv2))
            if bar is not None:
                bar.update()
        del images, samples
    if bar is not None:
        sys.stderr.write('\n')
    with open(osp.join(out_dir, 'results.json'), 'w') as f:
        json.dump(records, f)
    return records


def _output_path(out_dir: str, sub: str, name: str, suffix: str) -> str:
    path = osp.join(out_dir, sub, name + suffix)
    os.makedirs(osp.dirname(path), exist_ok=True)
    return path


def _write_outputs(predictor, path, name, image, sample, out_dir, score_thr, topk, draw, draw_max_side, cv2):
    record = {'image': path, 'height': int(image.shape[0]), 'width': int(image.shape[1]), 'task': predictor.task}
    if predictor.task == 'detection':
        record.update(_detection_record(sample, predictor.classes, score_thr))
    elif predictor.task == 'segmentation':
        seg = sample.pred_sem_seg.data[0].cpu().numpy()
        seg = seg.astype(np.uint8 if seg.max(initial=0) < 256 else np.uint16)
        png = _output_path(out_dir, 'pred', name, '.png')
        cv2.imwrite(png, seg)
        labels = sorted(int(v) for v in np.unique(seg))
        record.update(seg_map=png, classes_present=labels,
                      class_names=[predictor.classes[i] if i < len(predictor.classes) else str(i) for i in labels])
    else:
        record['topk'] = _topk(sample, predictor.classes, topk)
    if draw:
        record['vis'] = _output_path(out_dir, 'vis', name, '.png')
        cv2.imwrite(record['vis'], predictor.draw(image, sample, score_thr, topk, draw_max_side))
    with open(_output_path(out_dir, 'preds', name, '.json'), 'w') as f:
        json.dump(record, f)
    return record


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
