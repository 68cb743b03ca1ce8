"""mmdet's drawer with the best prediction on top, scores in percent and titled panels."""
from typing import List, Optional

import numpy as np
from mmdet.visualization import DetLocalVisualizer
from mmengine.dist import master_only
from mmengine.structures import InstanceData

from ..registry import VISUALIZERS
from .panels import GROUND_TRUTH, PREDICTION, held_output, title_and_emit


def ordered_for_drawing(instances: InstanceData, classes: Optional[List[str]]) -> InstanceData:
    """Predictions lowest score first, each named ``'<class> <score>%'`` (the scores themselves dropped, so
    mmdet's drawer writes the name as it is). Drawn in that order, where boxes or masks overlap the one on top is
    the model's best guess; models hand them over best first, and mmdet draws in that order, so the label a reader
    sees on a crowded object used to be the least likely one."""
    if 'scores' not in instances or len(instances) == 0:
        return instances
    instances = instances[instances.scores.argsort(stable=True)]
    if 'label_names' in instances:
        names = list(instances.label_names)
    else:
        names = [classes[i] if classes is not None and i < len(classes) else f'class {i}'
                 for i in instances.labels.tolist()]
    shown = InstanceData(metainfo=instances.metainfo)
    shown.set_data({k: v for k, v in instances.items() if k not in ('scores', 'label_names')})
    shown.label_names = [f'{n} {round(100 * s)}%' for n, s in zip(names, instances.scores.tolist())]
    return shown


@VISUALIZERS.register_module()
class DetVisualizer(DetLocalVisualizer):
    """:class:`mmdet.visualization.DetLocalVisualizer` (same arguments) that draws predictions lowest score first,
    so the best one is on top where they overlap, writes scores in percent (``circle 87%``), and titles the two
    panels of a drawing that shows both: "ground truth" left, "prediction (score > 30%)" right."""

    def _draw_instances(self, image: np.ndarray, instances: InstanceData, classes: Optional[List[str]],
                        palette: Optional[List[tuple]]) -> np.ndarray:
        return super()._draw_instances(image, ordered_for_drawing(instances, classes), classes, palette)

    @master_only
    def add_datasample(self, name: str, image: np.ndarray, data_sample=None, draw_gt: bool = True,
                       draw_pred: bool = True, show: bool = False, wait_time: float = 0,
                       out_file: Optional[str] = None, pred_score_thr: float = 0.3, step: int = 0) -> None:
        with held_output(self, []) as drawn:  # mmdet draws; the titles go on before anything is shown or saved
            super().add_datasample(name, image, data_sample, draw_gt=draw_gt, draw_pred=draw_pred, show=False,
                                   wait_time=wait_time, out_file=None, pred_score_thr=pred_score_thr, step=step)
        titles = (GROUND_TRUTH, f'{PREDICTION} (score > {round(100 * pred_score_thr)}%)')
        title_and_emit(self, name, image, drawn[0], titles, show, wait_time, out_file, step)
