from .flops import count_flops, count_params, flop_analyzer, sdpa_flop_handle

__all__ = ['count_flops', 'count_params', 'flop_analyzer', 'sdpa_flop_handle']
