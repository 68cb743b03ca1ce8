from .classifier import is_mm_model_checkpoint, to_image_classifier
from .mvit import convert_mvit, detect_mvit_layout
from .scalable_vit import convert_scalable_vit
from .swin import convert_swin, detect_swin_layout
from .utils import split_compatible, strip_backbone_prefix, summarize_keys, unwrap_state_dict

__all__ = ['to_image_classifier', 'is_mm_model_checkpoint', 'convert_mvit', 'detect_mvit_layout', 'convert_swin',
           'detect_swin_layout', 'convert_scalable_vit',
           'unwrap_state_dict', 'strip_backbone_prefix', 'summarize_keys', 'split_compatible']
