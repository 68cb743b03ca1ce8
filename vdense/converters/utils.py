"""Checkpoint helpers shared by every family's converter."""
from collections import OrderedDict
from typing import Dict, Iterable, Mapping, Tuple

import torch

# Where the common layouts keep the weights: the authors' .pth ('model'), MViT's .pyth ('model_state'),
# mmengine training checkpoints ('state_dict').
_WRAPPER_KEYS = ('state_dict', 'model', 'model_state', 'module')
# Prefixes under which a backbone sits inside a detector / segmentor / classifier / DDP checkpoint.
_BACKBONE_PREFIXES = ('module.', 'backbone.', 'encoder.')


def unwrap_state_dict(checkpoint: Mapping) -> Dict[str, torch.Tensor]:
    """Returns the flat tensor dict of a checkpoint, whichever common wrapper it comes in."""
    state = checkpoint
    while isinstance(state, Mapping) and not _is_tensor_dict(state):
        for key in _WRAPPER_KEYS:
            if key in state and isinstance(state[key], Mapping):
                state = state[key]
                break
        else:
            raise ValueError('checkpoint holds no state dict: expected tensors at the top level or under one of '
                             f'{_WRAPPER_KEYS}, found keys {sorted(state)[:10]}')
    return OrderedDict(state)


def _is_tensor_dict(d: Mapping) -> bool:
    return len(d) > 0 and all(isinstance(v, torch.Tensor) for v in d.values())


def strip_backbone_prefix(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Keeps only backbone weights when the dict is a whole model's (``backbone.`` keys present), prefix removed."""
    out = OrderedDict(state)
    for prefix in _BACKBONE_PREFIXES:
        if any(k.startswith(prefix) for k in out):
            if prefix == 'module.':
                out = OrderedDict((k[len(prefix):] if k.startswith(prefix) else k, v) for k, v in out.items())
            else:
                out = OrderedDict((k[len(prefix):], v) for k, v in out.items() if k.startswith(prefix))
    return out


def summarize_keys(missing: Iterable[str], unexpected: Iterable[str], shape_mismatch: Iterable[str] = (),
                   limit: int = 8) -> str:
    """One readable line about what did not match, with key names grouped so a family of keys reads once. Key names
    come from the file: control characters (ANSI escapes, newlines) are printed escaped, never sent raw."""
    from vdense.engine.checkpoint_reader import safe_text
    parts = []
    for label, keys in (('missing', missing), ('unexpected', unexpected), ('shape mismatch', shape_mismatch)):
        keys = sorted(keys)
        if keys:
            shown = ', '.join(safe_text(k) for k in keys[:limit])
            shown += f', ... (+{len(keys) - limit} more)' if len(keys) > limit else ''
            parts.append(f'{len(keys)} {label}: {shown}')
    return '; '.join(parts) if parts else 'all keys matched'


def split_compatible(model_state: Mapping[str, torch.Tensor],
                     state: Mapping[str, torch.Tensor]) -> Tuple[Dict[str, torch.Tensor], list, list, list]:
    """Splits ``state`` into what loads into ``model_state`` and the missing / unexpected / mis-shaped keys."""
    loadable, mismatched = OrderedDict(), []
    for k, v in state.items():
        if k in model_state:
            if tuple(model_state[k].shape) == tuple(v.shape):
                loadable[k] = v
            else:
                mismatched.append(f'{k} {tuple(v.shape)} vs {tuple(model_state[k].shape)}')
    unexpected = [k for k in state if k not in model_state]
    missing = [k for k in model_state if k not in state]
    return loadable, missing, unexpected, mismatched
