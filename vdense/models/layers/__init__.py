from .mlp import Mlp
from .patch_embed import ConvPatchEmbed
from .peg import PositionEncodingGenerator
from .relative_position import relative_position_index, resize_bias_table
from .window import (pad_to_window, padding_key_mask, shifted_window_mask, window_partition,
                     window_reverse)

__all__ = ['Mlp', 'ConvPatchEmbed', 'PositionEncodingGenerator', 'pad_to_window', 'window_partition',
           'window_reverse', 'padding_key_mask', 'shifted_window_mask', 'relative_position_index', 'resize_bias_table']
