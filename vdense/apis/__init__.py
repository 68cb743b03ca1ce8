from .build import build_model_from_config, strip_pretrained, synthetic_batch
from .cli import (add_common_args, close_distributed, enable_amp, enable_visualization, load_config,
                  one_line_errors, preflight)

__all__ = ['add_common_args', 'build_model_from_config', 'close_distributed', 'enable_amp', 'enable_visualization',
           'load_config', 'one_line_errors', 'preflight', 'strip_pretrained', 'synthetic_batch']
