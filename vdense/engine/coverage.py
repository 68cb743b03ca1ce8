"""How much of a model a checkpoint's weights cover, and a refusal when it is too little.

A checkpoint of another family or task still "loads" under mmengine's non-strict loading (every key simply missing),
and the run then reports the metrics of a randomly initialised model. These checks stop that with one line."""
from collections import OrderedDict
from typing import Dict, Mapping, Tuple

import torch

from .checkpoint_reader import CheckpointError

# A checkpoint evaluated by tools/test.py holds the whole model: anything well below all of it is the wrong file.
MIN_COVERAGE_TEST = 0.9
# load_from / init_cfg start training from it: heads may differ (other classes), most of the model may not.
MIN_COVERAGE_INIT = 0.5


def model_state_of(checkpoint: Mapping) -> Mapping[str, torch.Tensor]:
    state = checkpoint.get('state_dict', checkpoint)
    return OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v) for k, v in state.items()
                       if isinstance(v, torch.Tensor))


def coverage(target: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor]
             ) -> Tuple[int, int, Dict[str, Tuple[int, int]]]:
    """(tensors of ``target`` that ``state`` fills with the right shape, tensors of ``target``, the same per
    top-level module)."""
    parts: Dict[str, list] = OrderedDict()
    for k, v in target.items():
        part = parts.setdefault(k.split('.', 1)[0], [0, 0])
        part[1] += 1
        if k in state and tuple(state[k].shape) == tuple(v.shape):
            part[0] += 1
    fit = sum(p[0] for p in parts.values())
    return fit, len(target), OrderedDict((k, tuple(v)) for k, v in parts.items())


def _what_it_holds(state: Mapping[str, torch.Tensor]) -> str:
    try:
        from vdense.converters.identify import identify_backbone
        from vdense.converters.utils import strip_backbone_prefix
        found = identify_backbone({'state_dict': strip_backbone_prefix(state)})
    except Exception:  # a description only: no identification is no reason to fail differently
        return ''
    if found.missing or found.mismatched:
        return ''
    arch = found.arch if isinstance(found.arch, str) else 'custom'
    return f'; its backbone weights are a {found.family}-{arch}'


def check_coverage(model: torch.nn.Module, checkpoint: Mapping, path: str, minimum: float, purpose: str) -> float:
    """Raises :class:`CheckpointError` when ``checkpoint`` fills less than ``minimum`` of ``model``'s tensors."""
    model = getattr(model, 'module', model)  # DDP wrapper
    state = model_state_of(checkpoint)
    for name, module in model.named_modules():
        if hasattr(module, 'rename_v1_keys'):  # a vdense backbone renames its older layout when loading: count so
            module.rename_v1_keys(state, f'{name}.' if name else '')
    fit, total, parts = coverage(model.state_dict(), state)
    share = fit / max(total, 1)
    if share < minimum:
        per_part = ', '.join(f'{name} {f}/{t}' for name, (f, t) in parts.items())
        raise CheckpointError(f'{path}: fits only {fit}/{total} of the model\'s tensors ({per_part}), below the '
                              f'{minimum:.0%} {purpose} needs: not a checkpoint of this config\'s model'
                              f'{_what_it_holds(state)}')
    return share
