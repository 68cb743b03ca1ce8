from .attention import sdpa_mixed_head_dims
from .chunking import apply_in_row_chunks, chunking_applies, rows_per_chunk
from .decomposed_rel_pos import decomposed_rel_pos, rel_pos_table, resize_rel_pos
from .init import init_linear_and_layer_norm
from .mlp import Mlp
from .patch_embed import ConvPatchEmbed
from .peg import PositionEncodingGenerator
from .relative_position import relative_position_index, resize_bias_table
from .residual import add_residual
from .window import WindowGrid, expand_window_mask, map_to_windows, shifted_window_mask, window_grid, windows_to_map

__all__ = ['Mlp', 'ConvPatchEmbed', 'PositionEncodingGenerator', 'WindowGrid', 'window_grid', 'map_to_windows',
           'windows_to_map', 'expand_window_mask', 'shifted_window_mask', 'relative_position_index',
           'resize_bias_table', 'add_residual', 'decomposed_rel_pos', 'rel_pos_table', 'resize_rel_pos',
           'sdpa_mixed_head_dims', 'init_linear_and_layer_norm', 'apply_in_row_chunks', 'chunking_applies',
           'rows_per_chunk']
