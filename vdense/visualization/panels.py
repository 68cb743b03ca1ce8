"""Titles over side-by-side panels, and the hand-off that lets a subclass title what its OpenMMLab parent drew."""
from contextlib import contextmanager
from typing import List, Sequence

import cv2
import numpy as np

GROUND_TRUTH = 'ground truth'
PREDICTION = 'prediction'


def add_panel_titles(image: np.ndarray, titles: Sequence[str]) -> np.ndarray:
    """``image`` (H, W, 3, RGB: ``len(titles)`` panels of equal width side by side) with a band above it holding
    each panel's title, centred over the panel: which half is which must not be left to the reader to guess."""
    h, w = image.shape[:2]
    panel_w = w // len(titles)
    font, thickness = cv2.FONT_HERSHEY_SIMPLEX, 1
    # One font size for all panels: about 1/25 of the image, shrunk until the longest title fits its panel.
    unit_h = cv2.getTextSize('Ag', font, 1.0, thickness)[0][1]
    scale = max(10, min(28, round(max(h, panel_w) / 25))) / unit_h
    widest = max(cv2.getTextSize(t, font, 1.0, thickness)[0][0] for t in titles)
    scale = min(scale, 0.94 * panel_w / widest)
    text_h = cv2.getTextSize('Ag', font, scale, thickness)[0][1]
    pad = max(3, text_h // 2)
    band = np.full((text_h + 2 * pad, w, 3), 32, dtype=np.uint8)
    for i, title in enumerate(titles):
        text_w = cv2.getTextSize(title, font, scale, thickness)[0][0]
        x = i * panel_w + (panel_w - text_w) // 2
        cv2.putText(band, title, (x, pad + text_h), font, scale, (255, 255, 255), thickness, cv2.LINE_AA)
        if i:  # a divider between panels, in the band only: the drawings themselves stay as drawn
            band[:, i * panel_w - 1:i * panel_w + 1] = 255
    return np.concatenate([band, image.astype(np.uint8)], axis=0)


@contextmanager
def held_output(visualizer, drawn: List[np.ndarray]):
    """Within the block, what the visualizer would hand its storage backends (``add_image``: the finished drawing,
    the last act of mmdet's and mmseg's ``add_datasample`` when no ``out_file`` is given) is appended to ``drawn``
    instead, so a subclass can title it before it is shown or saved."""
    visualizer.add_image = lambda name, image, step=0: drawn.append(image)
    try:
        yield drawn
    finally:
        del visualizer.add_image  # the class's method again


def title_and_emit(visualizer, name: str, image: np.ndarray, drawn: np.ndarray, titles: Sequence[str],
                   show: bool, wait_time: float, out_file, step: int) -> np.ndarray:
    """Titles ``drawn`` when it holds one panel per title (of ``image``'s width), then shows / saves it as the
    OpenMMLab visualizers do: ``out_file`` when given, otherwise the storage backends."""
    import mmcv
    if drawn.shape[1] == len(titles) * image.shape[1]:
        drawn = add_panel_titles(drawn, titles)
    visualizer.set_image(drawn)  # get_image() is the finished drawing (the inferencers return it)
    if show:
        visualizer.show(drawn, win_name=name, wait_time=wait_time)
    if out_file is not None:
        mmcv.imwrite(drawn[..., ::-1], out_file)
    else:
        visualizer.add_image(name, drawn, step)
    return drawn
