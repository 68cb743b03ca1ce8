"""The complete models as graphs with one input: RGB images 0-255 in, each task's predictions out.

Each graph does the model's data preprocessing (channel order, mean/std, padding to the size divisor: what the
mmengine/mmdet/mmseg/mmpretrain data preprocessors do at test time) and the task's prediction step from the
libraries' own modules, so that its eager output is the library's ``predict`` on an image whose test-pipeline
resize was done outside (the resize is in the file's metadata, vdense/deploy/preprocess.py):

- classifier: ``scores`` (batch, classes), the head's softmax (mmpretrain ``ClsHead.predict``);
- segmentor: ``labels`` (batch, height, width) int64 at the input's size: the decode head's logits resized
  bilinearly to the input size, then argmax (mmseg ``EncoderDecoder.predict`` with img_shape = ori_shape);
- one-stage detector (RetinaNet): ``boxes``, ``scores``, ``labels`` with test_cfg inside (detection.py);
- two-stage detector (Mask R-CNN, Cascade Mask R-CNN): the same plus ``masks``, per-box mask probabilities
  (two_stage.py).
"""
import torch
import torch.nn.functional as F
from torch import nn

from .preprocess import model_wants_rgb


class Preprocess(nn.Module):
    """RGB 0-255 -> the model's channel order, (x - mean) / std, ``pad_value`` padding at the bottom/right to a
    multiple of the size divisor, as the test-time data preprocessors do (mmseg's pads only in training: its
    ``size_divisor`` is not used here). The pad amount is computed in the graph, so it follows the input's size."""

    def __init__(self, preprocessor):
        super().__init__()
        self.to_bgr = not model_wants_rgb(preprocessor)
        normalize = getattr(preprocessor, '_enable_normalize', True)
        self.register_buffer('mean', preprocessor.mean.detach().clone().view(1, -1, 1, 1) if normalize
                             else torch.zeros(1, 3, 1, 1))
        self.register_buffer('std', preprocessor.std.detach().clone().view(1, -1, 1, 1) if normalize
                             else torch.ones(1, 3, 1, 1))
        self.divisor = int(getattr(preprocessor, 'pad_size_divisor', None) or 1)
        self.pad_value = float(getattr(preprocessor, 'pad_value', 0) or 0)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = image.flip(1) if self.to_bgr else image
        x = (x - self.mean) / self.std
        if self.divisor > 1:
            H, W = x.shape[-2:]
            d = self.divisor
            x = F.pad(x, (0, (d - W % d) % d, 0, (d - H % d) % d), value=self.pad_value)
        return x


class ClassifierGraph(nn.Module):
    output_names = ('scores',)
    dynamic_axes = {'scores': {0: 'batch'}}

    def __init__(self, model):
        super().__init__()
        self.preprocess = Preprocess(model.data_preprocessor)
        self.model = model

    def forward(self, image):
        logits = self.model(self.preprocess(image), mode='tensor')
        return F.softmax(logits, dim=1)


class SegmentorGraph(nn.Module):
    output_names = ('labels',)
    dynamic_axes = {'labels': {0: 'batch', 1: 'height', 2: 'width'}}

    def __init__(self, model):
        super().__init__()
        self.preprocess = Preprocess(model.data_preprocessor)
        self.model = model

    def forward(self, image):
        x = self.preprocess(image)
        head = self.model.decode_head
        logits = head(self.model.extract_feat(x))
        # Padding (if any) cropped, then to the input's size, as EncoderDecoder.postprocess_result does.
        H, W = image.shape[-2:]
        logits = F.interpolate(logits, size=x.shape[-2:], mode='bilinear', align_corners=head.align_corners)
        logits = F.interpolate(logits[:, :, :H, :W], size=(H, W), mode='bilinear',
                               align_corners=head.align_corners)
        if logits.shape[1] == 1:  # binary heads: sigmoid > threshold
            return (logits.sigmoid() > head.threshold).squeeze(1).long()
        return logits.argmax(dim=1)


def task_of(model) -> str:
    from mmpretrain.models import ImageClassifier
    from mmseg.models import EncoderDecoder
    if isinstance(model, ImageClassifier):
        return 'classifier'
    if isinstance(model, EncoderDecoder):
        return 'segmentor'
    from mmdet.models.detectors import SingleStageDetector, TwoStageDetector
    if isinstance(model, (SingleStageDetector, TwoStageDetector)):
        return 'detector'
    return type(model).__name__


def build_graph(model, task: str) -> nn.Module:
    """The graph of ``model``'s task; NotImplementedError (one line) for what is not supported yet."""
    if task == 'classifier':
        return ClassifierGraph(model)
    if task == 'segmentor':
        return SegmentorGraph(model)
    if task == 'detector':
        if hasattr(model, 'roi_head'):
            from .two_stage import TwoStageDetectorGraph
            return TwoStageDetectorGraph(model)
        from .detection import OneStageDetectorGraph
        return OneStageDetectorGraph(model)
    raise NotImplementedError(f'complete-model export of a {task} is not supported (classifiers, segmentors, '
                              'RetinaNet-like detectors, Mask R-CNN and Cascade Mask R-CNN are); add --backbone-only '
                              'to export its backbone')
