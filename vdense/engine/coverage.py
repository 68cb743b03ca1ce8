"""Whether a checkpoint is the model a config builds, both ways: the model's tensors it fills, and its own tensors
the model would leave unused.

mmengine loads non-strictly: another family's or task's checkpoint still "loads" (every key simply missing), and a
deeper variant's (Swin-S on a Swin-T config) fills every tensor while its extra blocks are dropped without a word:
the run then reports the metrics of a random or truncated network. These checks stop that with one line naming what
the checkpoint is."""
import logging
from collections import OrderedDict
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

import torch

from .checkpoint_reader import CheckpointError, safe_text

# tools/test.py, infer.py and export_onnx.py run the checkpoint as it is: it must be this model, tensor for tensor
# (every tensor it holds used with its shape, and at least this share of the model's filled).
MIN_COVERAGE_TEST = 0.9
# load_from / init_cfg start training from it: heads may differ (other classes), most of the model may not, and the
# backbone must be of the config's family.
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


def group_keys(keys: Iterable[str], among: Iterable[str] = (), limit: int = 4) -> str:
    """Key names collapsed so that a thousand read as a few: each key under the shortest prefix whose keys (of
    ``among``, default ``keys``) are all in ``keys``, sibling indices as ranges: ``stages.2.blocks.6-17``,
    ``roi_head.bbox_head``."""
    keys = list(keys)
    selected, children = set(keys), {}
    for key in set(among) | selected:
        parts = key.split('.')
        for n in range(1, len(parts) + 1):
            children.setdefault('.'.join(parts[:n]), []).append(key)
    groups: Dict[str, List[int]] = OrderedDict()
    for key in keys:
        parts = key.split('.')
        prefix = next('.'.join(parts[:n]) for n in range(1, len(parts) + 1)
                      if all(k in selected for k in children['.'.join(parts[:n])]))
        parent, _, last = prefix.rpartition('.')
        if last.isdigit() and parent:
            groups.setdefault(parent, []).append(int(last))
        else:
            groups.setdefault(prefix, [])
    names = []
    for parent, indices in groups.items():
        indices = sorted(set(indices))
        if not indices:
            names.append(parent)
        elif indices == list(range(indices[0], indices[-1] + 1)):
            names.append(f'{parent}.{indices[0]}' + (f'-{indices[-1]}' if len(indices) > 1 else ''))
        else:
            names.append(f'{parent}.{{{",".join(map(str, indices))}}}')
    # Key names come from the file: control characters (ANSI escapes) are shown escaped, never sent to the terminal.
    text = ', '.join(names[:limit]) + (f', ... (+{len(names) - limit} more)' if len(names) > limit else '')
    return safe_text(text)


def _backbone_difference(model: torch.nn.Module, state: Mapping[str, torch.Tensor]) -> Tuple[str, bool]:
    """(what the checkpoint's backbone is against the config's, '' when they match or cannot be told; whether they
    are of different families)."""
    from vdense.converters.identify import FAMILIES, describe_backbone_module, describe_backbone_state
    backbone = getattr(model, 'backbone', None)
    if backbone is None or not FAMILIES:
        return '', False
    built = describe_backbone_module(backbone)
    if built is None:
        return '', False
    target = backbone.state_dict()
    prefix = 'backbone.'
    theirs = OrderedDict((k[len(prefix):], v) for k, v in state.items() if k.startswith(prefix))
    if not theirs and any(k.startswith(('patch_embed.', 'stages.')) for k in state):  # a backbone-only export
        found = describe_backbone_state(state)
        if found is not None:
            return (f'it is a backbone-only file ({found[1]}), not a whole model: start a training from it with '
                    f'init_cfg=dict(type="Pretrained", checkpoint=...) or load_from'), found[0] != built[0]
    if not theirs:
        return '', False
    same = (set(theirs) == set(target)
            and all(tuple(theirs[k].shape) == tuple(v.shape) for k, v in target.items()))
    if same:
        return '', False
    found = describe_backbone_state(theirs)
    if found is None:
        return f'its backbone weights are no vdense backbone, the config builds a {built[1]}', True
    return f'its backbone weights are a {found[1]}, the config builds a {built[1]}', found[0] != built[0]


def _stored_model_type(checkpoint: Mapping) -> Optional[str]:
    """``model.type`` of the config mmengine stores in a training checkpoint (read as data, never run)."""
    from vdense.converters.config_text import read_config_text
    meta = checkpoint.get('meta') if isinstance(checkpoint.get('meta'), Mapping) else {}
    model = read_config_text(meta['cfg']).get('model') if isinstance(meta.get('cfg'), str) else None
    kind = model.get('type') if isinstance(model, dict) else None
    return kind.split('.')[-1] if isinstance(kind, str) else None


def check_coverage(model: torch.nn.Module, checkpoint: Mapping, path: str, minimum: float, purpose: str) -> float:
    """Raises :class:`CheckpointError` (one line naming what the checkpoint is) when ``checkpoint`` is not the
    model's; returns the share of the model's tensors it fills.

    ``minimum`` >= :data:`MIN_COVERAGE_TEST` (test, inference, export): the checkpoint must be the model, every one
    of its tensors used with its shape. :data:`MIN_COVERAGE_INIT` (``load_from``): a start for training: the backbone
    family must match and at least ``minimum`` of the model be filled; tensors left unused (other heads, a deeper
    variant's extra blocks) are listed in one warning."""
    model = getattr(model, 'module', model)  # DDP wrapper
    state = model_state_of(checkpoint)
    for name, module in model.named_modules():
        if hasattr(module, 'rename_v1_keys'):  # a vdense backbone renames its older layout when loading: count so
            module.rename_v1_keys(state, f'{name}.' if name else '')
    target = model.state_dict()
    fit, total, parts = coverage(target, state)
    share = fit / max(total, 1)
    unused = [k for k in state if k not in target]
    reshaped = [k for k in state if k in target and tuple(state[k].shape) != tuple(target[k].shape)]
    whole = minimum >= MIN_COVERAGE_TEST
    if share >= minimum and not unused and not reshaped:
        return share
    backbone, other_family = _backbone_difference(model, state)
    problem = share < minimum or other_family or (whole and (unused or reshaped))
    counts = f'it fills {fit}/{total} of the model\'s tensors'
    if unused:
        counts += f'; {len(unused)} of its {len(state)} tensors have no place in it ({group_keys(unused, state)})'
    if reshaped:
        counts += f'; {len(reshaped)} have another shape ({group_keys(reshaped, state)})'
    if not problem:
        from mmengine.logging import print_log
        print_log(f'{purpose} {path}: {counts}; they are not loaded' + (f' ({backbone})' if backbone else ''),
                  logger='current', level=logging.WARNING)
        return share
    what = [backbone] if backbone else []
    stored, built = _stored_model_type(checkpoint), type(model).__name__
    if stored and stored != built:
        what.append(f'its stored config builds a {stored}, this config a {built}')
    if share < minimum:
        per_part = ', '.join(f'{name} {f}/{t}' for name, (f, t) in parts.items())
        counts = counts.replace(f'it fills {fit}/{total} of the model\'s tensors',
                                f'it fits only {fit}/{total} of the model\'s tensors ({per_part}), below the '
                                f'{minimum:.0%} {purpose} needs')
    need = (f'{purpose} needs the config\'s own model, every tensor used' if whole
            else f'{purpose} needs a backbone of the config\'s family')
    raise CheckpointError(f'{path}: not a checkpoint of this config\'s model: '
                          + '; '.join(what + [counts]) + ('' if share < minimum else f' ({need})'))


def check_pretrained_family(backbone: torch.nn.Module, state: Mapping[str, torch.Tensor], path: str) -> None:
    """Raises :class:`CheckpointError` when ``state`` (a checkpoint converted for ``backbone``'s family) holds
    another family's backbone: their shared key names (``attn.qkv``, ``mlp.fc1``, norms) would otherwise fill much
    of it with weights trained for another network."""
    from vdense.converters.identify import describe_backbone_module, describe_backbone_state
    built = describe_backbone_module(backbone)
    found = describe_backbone_state(state)
    if built is not None and found is not None and found[0] != built[0]:
        raise CheckpointError(f'{path}: its weights are a {found[1]} backbone, the config builds a {built[1]}: '
                              f'a Pretrained init needs the config\'s family ({built[0]})')
