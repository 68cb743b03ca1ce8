"""Deterministic synthetic "shapes" data: several shape classes on textured backgrounds.

Colours are random per instance, so a model has to learn the class from the outline, and backgrounds carry
stripes and blotches so that "any edge is an object" does not work. Instances never overlap, so every mask is
exactly its polygon. Written in the real datasets' layouts, the same tools train on it as on COCO.
"""
import json
import math
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Tuple

import cv2
import numpy as np

CLASSES = ('circle', 'square', 'triangle', 'star')


@dataclass
class Instance:
    label: int            # index into CLASSES
    polygon: np.ndarray   # (K, 2) float32 x, y


def _texture(rng: np.random.Generator, size: int, grid: int = 4, contrast: float = 1.) -> np.ndarray:
    """Smooth colour noise plus random stripes, uint8 (size, size, 3). The stripes are kept mild (amplitude 4-15):
    at 8-30 their edges rival the shapes' and a 5-minute from-scratch run learned far less (box mAP 0.36 vs 0.5-0.6)."""
    low = rng.uniform(40, 215, size=(grid, grid, 3)).astype(np.float32)
    img = cv2.resize(low, (size, size), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    for _ in range(rng.integers(1, 4)):
        angle, period = rng.uniform(0, math.pi), rng.uniform(6, 30)
        phase = (xx * math.cos(angle) + yy * math.sin(angle)) * 2 * math.pi / period
        img += (rng.uniform(4, 15) * np.sin(phase))[..., None] * rng.uniform(-1, 1, size=3)
    img += rng.normal(0, 4, size=img.shape)
    if contrast != 1.:
        img = img.mean() + contrast * (img - img.mean())
    return np.clip(img, 0, 255).astype(np.uint8)


def _visible_colour(rng: np.random.Generator, background: np.ndarray) -> np.ndarray:
    """A random fill colour, or, when it is within 60 of the background under the shape's centre, one 80-150 away
    from it in every channel. (The colour negative, 255 - background, was used before: on mid-grey backgrounds it
    is the background again; a quarter of the half-contrast classification images, and 1 in 25 shapes of the
    full-contrast detection set, were barely visible.)"""
    background = background.astype(np.float32)
    colour = rng.uniform(0, 255, size=3)
    if np.abs(colour - background).mean() < 60:
        away = rng.uniform(80, 150, size=3)
        colour = np.clip(np.where(background < 128, background + away, background - away), 0, 255)
    return colour


def _shape_polygon(label: int, cx: float, cy: float, r: float, rot: float) -> np.ndarray:
    name = CLASSES[label]
    if name == 'circle':
        angles = np.linspace(0, 2 * math.pi, 40, endpoint=False)
        radii = np.full_like(angles, r)
    elif name == 'square':
        angles = rot + np.array([0.25, 0.75, 1.25, 1.75]) * math.pi
        radii = np.full(4, r)
    elif name == 'triangle':
        angles = rot + np.array([0, 2, 4]) * math.pi / 3
        radii = np.full(3, r)
    else:  # five-pointed star
        angles = rot + np.arange(10) * math.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
    return np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], 1).astype(np.float32)


def make_image(rng: np.random.Generator, size: int = 192, max_objects: int = 5,
               min_radius: float = None, max_radius: float = None) -> Tuple[np.ndarray, List[Instance]]:
    """One image (BGR uint8) with 1..max_objects non-overlapping shapes, radii 6-21% of the image size."""
    min_radius = min_radius or 0.06 * size
    max_radius = max_radius or 0.21 * size
    img = _texture(rng, size)
    placed: List[Tuple[float, float, float]] = []
    instances: List[Instance] = []
    for _ in range(rng.integers(1, max_objects + 1)):
        for _attempt in range(30):
            r = rng.uniform(min_radius, max_radius)
            cx, cy = rng.uniform(r, size - r, size=2)
            if all(math.hypot(cx - x, cy - y) > r + pr + 2 for x, y, pr in placed):
                break
        else:
            continue
        label = int(rng.integers(len(CLASSES)))
        poly = _shape_polygon(label, cx, cy, r, rng.uniform(0, 2 * math.pi))
        colour = _visible_colour(rng, img[int(cy), int(cx)])
        cv2.fillPoly(img, [np.round(poly).astype(np.int32)], tuple(float(c) for c in colour), lineType=cv2.LINE_8)
        placed.append((cx, cy, r))
        instances.append(Instance(label, poly))
    return img, instances


def _instance_mask(poly: np.ndarray, size: int) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1, lineType=cv2.LINE_8)
    return mask


def write_coco_split(out_dir: str, split: str, num_images: int, seed: int, size: int = 192) -> str:
    """Writes ``{out_dir}/{split}/*.jpg`` and ``{out_dir}/annotations/instances_{split}.json``; returns the json."""
    rng = np.random.default_rng(seed)
    img_dir = osp.join(out_dir, split)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    images, annotations = [], []
    for i in range(num_images):
        img, instances = make_image(rng, size)
        name = f'{split}_{i:05d}.jpg'
        cv2.imwrite(osp.join(img_dir, name), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        images.append(dict(id=i + 1, file_name=name, width=size, height=size))
        for inst in instances:
            mask = _instance_mask(inst.polygon, size)
            ys, xs = np.nonzero(mask)
            x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
            annotations.append(dict(
                id=len(annotations) + 1, image_id=i + 1, category_id=inst.label + 1, iscrowd=0,
                bbox=[float(x0), float(y0), float(x1 - x0), float(y1 - y0)], area=float(mask.sum()),
                segmentation=[inst.polygon.reshape(-1).round(2).tolist()]))
    coco = dict(images=images, annotations=annotations,
                categories=[dict(id=i + 1, name=n, supercategory='shape') for i, n in enumerate(CLASSES)])
    path = osp.join(out_dir, 'annotations', f'instances_{split}.json')
    with open(path, 'w') as f:
        json.dump(coco, f)
    return path


DEFAULT_SPLITS: Dict[str, Tuple[int, int]] = {'train': (1000, 0), 'val': (50, 1)}  # split -> (images, seed)

# Bumped whenever the generator draws different images: sets written by another version are written again.
GENERATOR_VERSION = '2'  # 2: shapes never near the background colour (_visible_colour)


def _current_version(out: str) -> bool:
    stamp = osp.join(out, 'GENERATOR_VERSION')
    if not osp.isfile(stamp):
        return False
    with open(stamp) as f:
        return f.read().strip() == GENERATOR_VERSION


def _stamp_version(out: str) -> None:
    with open(osp.join(out, 'GENERATOR_VERSION'), 'w') as f:
        f.write(GENERATOR_VERSION + '\n')


def make_demo_coco(root: str = 'data/demo', splits: Dict[str, Tuple[int, int]] = None, size: int = 192) -> str:
    """Generates the COCO-format demo set under ``{root}/coco`` (skipped when already complete)."""
    out = osp.join(root, 'coco')
    current = _current_version(out)
    for split, (n, seed) in (splits or DEFAULT_SPLITS).items():
        ann = osp.join(out, 'annotations', f'instances_{split}.json')
        if current and osp.exists(ann):
            with open(ann) as f:
                images = json.load(f)['images']
            if len(images) == n and images[0]['width'] == size:
                continue
        write_coco_split(out, split, n, seed, size)
    _stamp_version(out)
    return out


# ---- ADE20K layout (semantic segmentation) ---------------------------------------------------------------------
# Label PNG values, ADE20K convention: 0 = "other / unlabelled" (reduce_zero_label maps it to 255, ignored),
# then 1 = background, 2.. = the shape classes; so the model predicts SEG_CLASSES after the reduction.
SEG_CLASSES = ('background',) + CLASSES


def _semantic_label(instances: List[Instance], size: int) -> np.ndarray:
    label = np.ones((size, size), np.uint8)  # background
    for inst in instances:
        mask = _instance_mask(inst.polygon, size)
        # A 1-pixel band on the outline is left unlabelled (0, ignored), as ADE20K leaves ambiguous borders.
        band = cv2.dilate(mask, np.ones((3, 3), np.uint8)) - cv2.erode(mask, np.ones((3, 3), np.uint8))
        label[mask > 0] = inst.label + 2
        label[band > 0] = 0
    return label


def write_ade_split(out_dir: str, split: str, num_images: int, seed: int, size: int = 128) -> None:
    """``{out_dir}/images/{split}/*.jpg`` and ``{out_dir}/annotations/{split}/*.png`` (split: training/validation)."""
    rng = np.random.default_rng(seed)
    for sub in ('images', 'annotations'):
        os.makedirs(osp.join(out_dir, sub, split), exist_ok=True)
    for i in range(num_images):
        img, instances = make_image(rng, size)
        name = f'{split}_{i:05d}'
        cv2.imwrite(osp.join(out_dir, 'images', split, name + '.jpg'), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        cv2.imwrite(osp.join(out_dir, 'annotations', split, name + '.png'), _semantic_label(instances, size))


# ---- ImageNet layout (classification) ----------------------------------------------------------------------------
def write_imagenet_split(out_dir: str, split: str, per_class: int, seed: int, size: int = 64) -> None:
    """``{out_dir}/{split}/{class}/*.jpg``: one shape per image, 20-45% of the image in radius, class folders."""
    rng = np.random.default_rng(seed)
    for label, name in enumerate(CLASSES):
        os.makedirs(osp.join(out_dir, split, name), exist_ok=True)
    for i in range(per_class * len(CLASSES)):
        label = i % len(CLASSES)
        # Blobs as large relative to the image as in the 192-px COCO set, at half the contrast: one label per image
        # teaches far less than dense boxes, and a from-scratch run memorised full-contrast backgrounds instead.
        img = _texture(rng, size, grid=2, contrast=0.5)
        r = rng.uniform(0.2, 0.45) * size
        cx, cy = rng.uniform(r, size - r, size=2)
        poly = _shape_polygon(label, cx, cy, r, rng.uniform(0, 2 * math.pi))
        colour = _visible_colour(rng, img[int(cy), int(cx)])
        cv2.fillPoly(img, [np.round(poly).astype(np.int32)], tuple(float(c) for c in colour))
        cv2.imwrite(osp.join(out_dir, split, CLASSES[label], f'{split}_{i:05d}.jpg'), img,
                    [cv2.IMWRITE_JPEG_QUALITY, 95])


def _complete(folder: str, expected: int) -> bool:
    if not osp.isdir(folder):
        return False
    count = sum(len(files) for _, _, files in os.walk(folder))
    return count == expected


DEFAULT_ADE_SPLITS: Dict[str, Tuple[int, int]] = {'training': (600, 2), 'validation': (50, 3)}
DEFAULT_IMAGENET_SPLITS: Dict[str, Tuple[int, int]] = {'train': (2000, 4), 'val': (50, 5)}  # per class


def make_demo_ade(root: str = 'data/demo', splits: Dict[str, Tuple[int, int]] = None, size: int = 128) -> str:
    """Generates the ADE20K-layout demo set under ``{root}/ade`` (skipped when already complete)."""
    out = osp.join(root, 'ade')
    current = _current_version(out)
    for split, (n, seed) in (splits or DEFAULT_ADE_SPLITS).items():
        complete = _complete(osp.join(out, 'images', split), n) and _complete(osp.join(out, 'annotations', split), n)
        if not (current and complete):
            write_ade_split(out, split, n, seed, size)
    _stamp_version(out)
    return out


def make_demo_imagenet(root: str = 'data/demo', splits: Dict[str, Tuple[int, int]] = None, size: int = 64) -> str:
    """Generates the ImageNet-layout demo set under ``{root}/imagenet`` (skipped when already complete)."""
    out = osp.join(root, 'imagenet')
    current = _current_version(out)
    for split, (per_class, seed) in (splits or DEFAULT_IMAGENET_SPLITS).items():
        if not (current and _complete(osp.join(out, split), per_class * len(CLASSES))):
            write_imagenet_split(out, split, per_class, seed, size)
    _stamp_version(out)
    return out
