from .mlp import Mlp
from .patch_embed import ConvPatchEmbed
from .peg import PositionEncodingGenerator
from .window import padding_key_mask, pad_to_window, window_partition, window_reverse

__all__ = ['Mlp', 'ConvPatchEmbed', 'PositionEncodingGenerator', 'pad_to_window', 'window_partition',
           'window_reverse', 'padding_key_mask']
