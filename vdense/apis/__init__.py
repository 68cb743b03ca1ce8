from .cli import add_common_args, enable_amp, enable_visualization, load_config, preflight

__all__ = ['add_common_args', 'enable_amp', 'enable_visualization', 'load_config', 'preflight']
