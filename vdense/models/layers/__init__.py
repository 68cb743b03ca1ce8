from . import cpu_inference
from .attention import sdpa_mixed_head_dims
from .blocks import PreNormBlock, Stage
from .init import init_linear_and_layer_norm
from .mlp import Mlp
from .patch_embed import ConvPatchEmbed
from .peg import PositionEncodingGenerator
from .relative_position import (
    decomposed_relative_position_bias,
    relative_position_embeddings,
    relative_position_index,
    resize_relative_position_bias_table,
    resize_relative_position_table,
)
from .window import WindowGrid, expand_window_mask, map_to_windows, shifted_window_mask, window_grid, windows_to_map

__all__ = ['Mlp', 'PreNormBlock', 'Stage', 'ConvPatchEmbed', 'PositionEncodingGenerator', 'WindowGrid',
           'window_grid', 'map_to_windows', 'windows_to_map', 'expand_window_mask', 'shifted_window_mask',
           'relative_position_index', 'resize_relative_position_bias_table', 'resize_relative_position_table',
           'relative_position_embeddings', 'decomposed_relative_position_bias', 'sdpa_mixed_head_dims',
           'init_linear_and_layer_norm', 'cpu_inference']
