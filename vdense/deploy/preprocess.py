"""What an exported graph expects as input, read from the config and the model's data preprocessor.

The complete-model graphs (vdense/deploy/graphs.py) take RGB images with values 0-255 and do the channel order,
mean/std and the padding to the size divisor themselves; what stays outside is the test pipeline's resize (and
mapping boxes back through it). This description is written into the ONNX file's ``metadata_props`` (key
``vdense.preprocess``, JSON) so that the file says what to feed it; vdense/deploy/runtime.py reads it back.
"""
import json
from typing import List

# Pipeline steps that only load or pack: everything else in the test pipeline is part of the preprocessing.
_NOT_PREPROCESSING = ('LoadImageFromFile', 'LoadAnnotations', 'PackDetInputs', 'PackSegInputs', 'PackInputs',
                      'PackClsInputs', 'InferencerLoader')


def _plain(value):
    """Config values as JSON (tuples as lists)."""
    return json.loads(json.dumps(value, default=lambda o: list(o) if isinstance(o, tuple) else str(o)))


def test_pipeline_steps(cfg) -> List[dict]:
    """The test pipeline's transforms between loading and packing (e.g. ``Resize`` with its scale)."""
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    pipeline = (loader.get('dataset') or {}).get('pipeline') or cfg.get('test_pipeline') or []
    return [_plain(dict(step)) for step in pipeline
            if str(step.get('type', '')).rsplit('.', 1)[-1] not in _NOT_PREPROCESSING]


def model_wants_rgb(preprocessor) -> bool:
    """Whether the model was trained on RGB (the images are loaded BGR; mmengine's/mmseg's/mmpretrain's
    preprocessors convert when told to, each under its own attribute name)."""
    for name in ('_channel_conversion', 'channel_conversion', 'to_rgb'):
        if hasattr(preprocessor, name):
            return bool(getattr(preprocessor, name))
    return False


def describe_preprocessing(cfg, model, in_graph: bool) -> dict:
    """The preprocessing of ``model`` (built from ``cfg``) at test time as a JSON-able dict. ``in_graph``: the graph
    does the channel order, normalisation and padding (complete-model export) rather than expecting a normalised
    tensor (backbone-only export)."""
    from .graphs import Preprocess
    pre = Preprocess(model.data_preprocessor)
    order = 'BGR' if pre.to_bgr else 'RGB'
    info = {
        'input': 'float32 (batch, 3, height, width), RGB, values 0-255' if in_graph else
                 f'float32 (batch, 3, height, width), {order}, (pixel - mean) / std, then padded at the '
                 'bottom/right to a multiple of size_divisor with pad_value',
        'done_in_graph': ['channel order', 'mean/std', 'padding to size_divisor'] if in_graph else [],
        'model_channel_order': order,
        'mean': [round(float(v), 4) for v in pre.mean.flatten()],  # float32 buffers: 123.675, not 123.675003
        'std': [round(float(v), 4) for v in pre.std.flatten()],
        'size_divisor': pre.divisor,
        'pad_value': pre.pad_value,
        'test_pipeline': test_pipeline_steps(cfg),
    }
    info['to_do_before'] = ('the test_pipeline steps (e.g. Resize; outputs are at the resized size)'
                            if info['test_pipeline'] else 'nothing (the test pipeline has no resize)')
    return info
