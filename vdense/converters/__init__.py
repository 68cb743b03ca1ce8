from .classifier import is_mm_model_checkpoint, to_image_classifier
from .mvit import convert_mvit, detect_mvit_layout, mvit_keys_from_v1
from .scalable_vit import convert_scalable_vit, scalable_vit_keys_from_v1
from .swin import convert_swin, detect_swin_layout, swin_keys_from_v1
from .utils import split_compatible, strip_backbone_prefix, summarize_keys, unwrap_state_dict

__all__ = ['to_image_classifier', 'is_mm_model_checkpoint', 'convert_mvit', 'detect_mvit_layout', 'convert_swin',
           'detect_swin_layout', 'convert_scalable_vit', 'mvit_keys_from_v1', 'scalable_vit_keys_from_v1',
           'swin_keys_from_v1',
           'unwrap_state_dict', 'strip_backbone_prefix', 'summarize_keys', 'split_compatible']
