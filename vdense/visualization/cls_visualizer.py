"""mmpretrain's classification drawer with class names and scores in percent."""
from typing import Optional, Sequence

import mmcv
import numpy as np
from mmengine.dist import master_only
from mmpretrain.visualization import UniversalVisualizer
from mmpretrain.visualization.utils import get_adaptive_scale

from ..registry import VISUALIZERS
from .panels import GROUND_TRUTH, PREDICTION


def class_text(indices: Sequence[int], classes: Optional[Sequence[str]], scores=None) -> str:
    """``'circle 97%, square 2%'``: names (``class 3`` without them), scores in percent when given."""
    parts = []
    for i in indices:
        name = classes[i] if classes is not None and i < len(classes) else f'class {i}'
        parts.append(name if scores is None else f'{name} {round(100 * float(scores[i]))}%')
    return ', '.join(parts)


@VISUALIZERS.register_module()
class ClsVisualizer(UniversalVisualizer):
    """:class:`mmpretrain.visualization.UniversalVisualizer` whose classification drawing reads
    ``ground truth: circle`` / ``prediction: circle 97%`` (mmpretrain's: ``Prediction: 2, 0.97 (circle)``)."""

    @master_only
    def visualize_cls(self, image: np.ndarray, data_sample, classes: Optional[Sequence[str]] = None,
                      draw_gt: bool = True, draw_pred: bool = True, draw_score: bool = True,
                      resize: Optional[int] = None, rescale_factor: Optional[float] = None, text_cfg: dict = dict(),
                      show: bool = False, wait_time: float = 0, out_file: Optional[str] = None, name: str = '',
                      step: int = 0) -> np.ndarray:
        if self.dataset_meta is not None:
            classes = classes or self.dataset_meta.get('classes', None)
        if resize is not None:
            h, w = image.shape[:2]
            image = mmcv.imresize(image, (resize, resize * h // w) if w < h else (resize * w // h, resize))
        elif rescale_factor is not None:
            image = mmcv.imrescale(image, rescale_factor)
        self.set_image(image)
        lines = []
        if draw_gt and 'gt_label' in data_sample:
            lines.append(f'{GROUND_TRUTH}: {class_text(data_sample.gt_label.tolist(), classes)}')
        if draw_pred and 'pred_label' in data_sample:
            scores = data_sample.pred_score if draw_score and 'pred_score' in data_sample else None
            lines.append(f'{PREDICTION}: {class_text(data_sample.pred_label.tolist(), classes, scores)}')
        width = max(len(GROUND_TRUTH), len(PREDICTION)) + 1  # the class names in one column
        lines = [f'{line.split(": ", 1)[0] + ":":<{width}} {line.split(": ", 1)[1]}' for line in lines]
        scale = get_adaptive_scale(image.shape[:2])
        self.ax_save.text(scale * 5, scale * 5, '\n'.join(lines),
                          **{'size': int(scale * 7), **self.DEFAULT_TEXT_CFG, **text_cfg})
        drawn = self.get_image()
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(drawn[..., ::-1], out_file)
        else:
            self.add_image(name, drawn, step=step)
        return drawn
