"""mmseg's drawer with titled panels."""
from typing import Optional

import numpy as np
from mmengine.dist import master_only
from mmseg.visualization import SegLocalVisualizer

from ..registry import VISUALIZERS
from .panels import GROUND_TRUTH, PREDICTION, held_output, title_and_emit


@VISUALIZERS.register_module()
class SegVisualizer(SegLocalVisualizer):
    """:class:`mmseg.visualization.SegLocalVisualizer` (same arguments) that titles the two panels of a drawing
    that shows both, "ground truth" left and "prediction" right, and leaves the finished drawing as
    ``get_image()`` (mmseg's leaves the last panel drawn)."""

    def __init__(self, name: str = 'visualizer', image: Optional[np.ndarray] = None, vis_backends=None,
                 save_dir: Optional[str] = None, classes=None, palette=None, dataset_name: Optional[str] = None,
                 alpha: float = 0.8, **kwargs):
        super().__init__(name, image, vis_backends, save_dir, dataset_name=dataset_name, alpha=alpha, **kwargs)
        # mmseg 1.2.2's __init__ hands classes and palette to set_dataset_meta swapped: set them in their places.
        self.set_dataset_meta(classes, palette, dataset_name)

    @master_only
    def add_datasample(self, name: str, image: np.ndarray, data_sample=None, draw_gt: bool = True,
                       draw_pred: bool = True, show: bool = False, wait_time: float = 0,
                       out_file: Optional[str] = None, step: int = 0, with_labels: Optional[bool] = True) -> None:
        with held_output(self, []) as drawn:  # mmseg draws; the titles go on before anything is shown or saved
            super().add_datasample(name, image, data_sample, draw_gt=draw_gt, draw_pred=draw_pred, show=False,
                                   wait_time=wait_time, out_file=None, step=step, with_labels=with_labels)
        title_and_emit(self, name, image, drawn[0], (GROUND_TRUTH, PREDICTION), show, wait_time, out_file, step)
