"""The test-time drawers (vdense/visualization): the best prediction on top, scores in percent, titled panels."""
import itertools
import os.path as osp

import numpy as np
import pytest
import torch

import vdense  # noqa: F401  (mmcv._ext on torch kernels before mmdet imports mmcv.ops)
from tests.conftest import ROOT

_names = itertools.count()
RED, BLUE = (255, 0, 0), (0, 0, 255)


def _det_sample(with_gt: bool = False):
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    sample = DetDataSample()
    # Two overlapping boxes with the same top-left corner, so their labels land on the same spot; best first, as
    # the detectors hand them over. Labels of equal length ('aa 90%', 'bb 40%'): one covers the other.
    sample.pred_instances = InstanceData(bboxes=torch.tensor([[20., 20., 200., 180.], [20., 20., 190., 170.]]),
                                         labels=torch.tensor([0, 1]), scores=torch.tensor([0.9, 0.4]))
    if with_gt:
        sample.gt_instances = InstanceData(bboxes=torch.tensor([[20., 20., 200., 180.]]), labels=torch.tensor([0]))
    return sample


def _det_drawer(cls):
    drawer = cls(name=f'test-vis-{next(_names)}', text_color=[RED, BLUE], bbox_color=(255, 255, 255))
    drawer.dataset_meta = dict(classes=('aa', 'bb'))
    return drawer


def _label_colors(image: np.ndarray):
    """(red, blue) text pixels where the two labels overlap."""
    region = image[15:50, 15:120].astype(int)
    red = ((region[..., 0] > 150) & (region[..., 2] < 100)).sum()
    blue = ((region[..., 2] > 150) & (region[..., 0] < 100)).sum()
    return red, blue


def test_det_best_prediction_label_on_top():
    from mmdet.visualization import DetLocalVisualizer

    from vdense.visualization.det_visualizer import DetVisualizer
    image = np.full((200, 240, 3), 128, np.uint8)

    mmdet_drawer = _det_drawer(DetLocalVisualizer)
    mmdet_drawer.add_datasample('x', image, _det_sample(), draw_gt=False)
    red, blue = _label_colors(mmdet_drawer.get_image())
    assert blue > 20 and red == 0, 'the check must see mmdet put the 40% label (blue) over the 90% one'

    drawer = _det_drawer(DetVisualizer)
    texts = []
    draw_texts = drawer.draw_texts
    drawer.draw_texts = lambda text, *a, **k: (texts.append(text), draw_texts(text, *a, **k))[1]
    drawer.add_datasample('x', image, _det_sample(), draw_gt=False)
    drawn = drawer.get_image()
    red, blue = _label_colors(drawn)
    assert red > 20 and blue == 0, f'the 90% label (red) must be on top: {red} red, {blue} blue pixels'
    assert texts == ['bb 40%', 'aa 90%']  # lowest first: the best is drawn last; scores in percent
    assert drawn.shape == image.shape  # one panel (infer.py's drawings): no title band, the input's size


def test_det_panels_titled(tmp_path):
    from vdense.visualization.det_visualizer import DetVisualizer
    image = np.full((200, 240, 3), 128, np.uint8)
    drawer = _det_drawer(DetVisualizer)
    out = tmp_path / 'x.png'
    drawer.add_datasample('x', image, _det_sample(with_gt=True), out_file=str(out), pred_score_thr=0.3)
    drawn = drawer.get_image()
    band = drawn.shape[0] - image.shape[0]
    assert drawn.shape[1] == 2 * image.shape[1] and 10 <= band <= 40
    for half in (drawn[:band, :240], drawn[:band, 242:]):
        assert (half > 200).sum() > 30, 'each panel has its title in the band above it'
    import mmcv
    assert (mmcv.imread(str(out), channel_order='rgb') == drawn).all()  # saved as returned


def test_seg_panels_titled():
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    from vdense.visualization.seg_visualizer import SegVisualizer
    image = np.full((64, 96, 3), 100, np.uint8)
    sample = SegDataSample()
    label = torch.zeros(1, 64, 96, dtype=torch.long)
    label[:, 16:48, 24:72] = 1
    sample.gt_sem_seg = PixelData(data=label)
    sample.pred_sem_seg = PixelData(data=label)
    drawer = SegVisualizer(name=f'test-vis-{next(_names)}', classes=['bg', 'fg'], palette=[[0, 0, 0], [0, 255, 0]])
    drawer.add_datasample('x', image, sample)
    drawn = drawer.get_image()
    assert drawn.shape[1] == 2 * 96 and drawn.shape[0] > 64  # both panels, a title band above
    drawer.add_datasample('x', image, sample, draw_gt=False)
    assert drawer.get_image().shape == image.shape  # the prediction alone, as infer.py draws it


@pytest.mark.parametrize('gt', [True, False])
def test_cls_names_and_percent(gt):
    from mmpretrain.structures import DataSample

    from vdense.visualization.cls_visualizer import ClsVisualizer
    sample = DataSample().set_pred_score(torch.tensor([0.03, 0.968, 0.002])).set_pred_label(1)
    if gt:
        sample.set_gt_label(0)
    drawer = ClsVisualizer(name=f'test-vis-{next(_names)}')
    drawer.dataset_meta = dict(classes=['circle', 'square', 'star'])
    drawer.visualize_cls(np.zeros((64, 64, 3), np.uint8), sample)
    lines = drawer.ax_save.texts[-1].get_text().split('\n')
    assert lines[-1].split() == ['prediction:', 'square', '97%']
    assert (lines[0].split() == ['ground', 'truth:', 'circle']) == gt


def test_runtime_configs_name_the_drawers():
    """What tools/test.py --show-dir, make demo and the inferencers build: the config's ``visualizer``."""
    from mmengine.config import Config
    from mmengine.registry import VISUALIZERS, init_default_scope
    for config, name in (('configs/demo/retinanet_scalablevit_demo.py', 'DetVisualizer'),
                         ('configs/demo/semantic_fpn_scalablevit_demo.py', 'SegVisualizer'),
                         ('configs/demo/imagenet_scalablevit_demo.py', 'ClsVisualizer')):
        cfg = Config.fromfile(osp.join(ROOT, config))
        init_default_scope(cfg.default_scope)
        cfg.visualizer.name = f'test-vis-{next(_names)}'
        assert type(VISUALIZERS.build(cfg.visualizer)).__name__ == name
