"""``--cfg-options`` checked before anything is built: a key the config's class does not take, or a number set to
text, is refused in one line with the closest names, instead of crashing later (a misspelled checkpoint-hook
option used to train a whole epoch, then fail at the first save with nothing saved).

A key that already exists in the config is trusted. A new key ``a.b.c`` is checked against the class the dict
``a.b`` configures: its ``type`` looked up in the registry that builds it (by where the dict sits: ``model`` ->
MODELS, ``default_hooks`` -> HOOKS, ...) and the keyword names of that class's ``__init__``, following ``**kwargs``
up the base classes while each passes them on. Where the class cannot be found, nothing is refused.
"""
import difflib
import importlib
import inspect
from typing import Iterable, List, Optional, Set, Tuple

MODEL_TASK_UTILS = {'assigner', 'sampler', 'bbox_coder', 'prior_generator', 'anchor_generator', 'iou_calculator',
                    'match_cost', 'point_generator', 'mask_assigner', 'mask_sampler'}
# Keys a builder consumes before the class sees the rest.
BUILDER_KEYS = {'OPTIM_WRAPPERS': {'constructor', 'paramwise_cfg'}}
ALWAYS = {'type', '_delete_', '_scope_'}
DATALOADER_KEYS = {'dataset', 'sampler', 'batch_sampler', 'collate_fn', 'worker_init_fn', 'num_batch_per_epoch',
                   'persistent_workers', 'disable_subprocess_warning'}


class CfgOptionError(ValueError):
    """A ``--cfg-options`` entry that the config's classes would not accept."""


def _key_of(parts: List[str]) -> str:
    """The name of the entry holding the dict at ``parts`` (skipping list indices)."""
    for part in reversed(parts):
        if not part.isdigit():
            return part
    return ''


def _registries_for(parts: List[str]) -> Tuple[str, ...]:
    """The registries that build a dict found at ``parts`` of a config, most likely first."""
    top, key, depth = parts[0], _key_of(parts), len([p for p in parts if not p.isdigit()])
    if top == 'model':
        if key == 'init_cfg':
            return ('WEIGHT_INITIALIZERS', )
        return ('TASK_UTILS', 'MODELS') if key in MODEL_TASK_UTILS else ('MODELS', 'TASK_UTILS')
    if top in ('default_hooks', 'custom_hooks'):
        return ('HOOKS', )
    if top == 'optim_wrapper':
        return ('OPTIMIZERS', ) if key == 'optimizer' else ('OPTIM_WRAPPERS', ) if depth == 1 else ()
    if top == 'param_scheduler':
        return ('PARAM_SCHEDULERS', )
    if top.endswith('_dataloader'):
        if key in ('pipeline', 'transforms'):
            return ('TRANSFORMS', )
        if key in ('sampler', 'batch_sampler'):
            return ('DATA_SAMPLERS', )
        return ('DATASETS', ) if key == 'dataset' else ()
    if top in ('val_evaluator', 'test_evaluator'):
        return ('METRICS', 'EVALUATOR')
    if top == 'visualizer':
        return ('VISBACKENDS', ) if key == 'vis_backends' else ('VISUALIZERS', )
    if top == 'log_processor':
        return ('LOG_PROCESSORS', )
    if top in ('train_cfg', 'val_cfg', 'test_cfg') and depth == 1:
        return ('LOOPS', )
    return ()


def _registry_module(scope: Optional[str]):
    try:
        return importlib.import_module(f'{scope}.registry') if scope else None
    except ImportError:
        return None


def _find_class(type_name, registries: Iterable[str], scope: Optional[str]):
    if not isinstance(type_name, str):
        return type_name if inspect.isclass(type_name) or callable(type_name) else None
    import mmengine.registry
    modules = [m for m in (_registry_module(scope), mmengine.registry) if m is not None]
    for name in registries:
        for module in modules:
            registry = getattr(module, name, None)
            if registry is None:
                continue
            try:
                found = registry.get(type_name)
            except Exception:  # a registry that cannot import its locations: not ours to judge here
                found = None
            if found is not None:
                return found
    return None


def accepted_names(target) -> Optional[Set[str]]:
    """The keyword names ``target`` (a class or function) accepts; None when it takes any name."""
    if not inspect.isclass(target):
        try:
            params = inspect.signature(target).parameters.values()
        except (TypeError, ValueError):
            return None
        if any(p.kind is p.VAR_KEYWORD for p in params):
            return None
        return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    names: Set[str] = set()
    for klass in target.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        if klass is object:
            return names  # **kwargs passed on to object.__init__: it takes none
        try:
            params = list(inspect.signature(init).parameters.values())
        except (TypeError, ValueError):
            return None  # a C-implemented __init__: unknown, take anything
        names |= {p.name for p in params[1:] if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return names
    return names


def _configured_class(cfg, parts: List[str], node) -> Tuple[Optional[object], Set[str], str]:
    """The class the dict ``node`` at ``parts`` configures, the keys its builder consumes, and its name."""
    top = parts[0]
    if len(parts) == 1 and top.endswith('_dataloader'):
        from torch.utils.data import DataLoader
        return DataLoader, DATALOADER_KEYS, 'torch DataLoader'
    type_name = node.get('type')
    if type_name is None and len(parts) == 1 and top in ('train_cfg', 'val_cfg', 'test_cfg'):
        from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop, TestLoop, ValLoop
        loop = dict(train_cfg=EpochBasedTrainLoop if node.get('by_epoch', True) else IterBasedTrainLoop,
                    val_cfg=ValLoop, test_cfg=TestLoop)[top]
        return loop, {'by_epoch', 'runner', 'dataloader', 'evaluator'}, loop.__name__
    if type_name is None:
        return None, set(), ''
    registries = _registries_for(parts)
    found = _find_class(type_name, registries, cfg.get('default_scope'))
    extra = set().union(*(BUILDER_KEYS.get(r, set()) for r in registries)) if registries else set()
    name = type_name if isinstance(type_name, str) else getattr(type_name, '__name__', str(type_name))
    return found, extra, name


def _child(node, part):
    if isinstance(node, dict):
        return node.get(part, _MISSING)
    if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    return _MISSING


_MISSING = object()


def check_option_key(original, merged, key: str) -> None:
    """Raises :class:`CfgOptionError` when ``key`` adds an entry the class it configures does not take.

    ``original`` is the config before the options, ``merged`` after (so that an option changing a ``type``
    is honoured for the others)."""
    parts = key.split('.')
    node = original
    for i, part in enumerate(parts):
        child = _child(node, part)
        if child is _MISSING:
            break
        node = child
    else:
        return  # the config has it: trusted
    if i == 0 or not isinstance(node, dict):
        return  # a new top-level name (checked by the caller) or an index into a list
    parent_parts = parts[:i]
    merged_node = merged
    for part in parent_parts:
        merged_node = _child(merged_node, part)
    if not isinstance(merged_node, dict):
        return
    target, extra, name = _configured_class(merged, parent_parts, merged_node)
    if target is None:
        return
    names = accepted_names(target)
    if names is None:
        return
    names = (names | extra | ALWAYS) - {'self'}
    new = parts[i]
    if new in names:
        return
    known = sorted(names - ALWAYS)
    close = difflib.get_close_matches(new, known, n=3, cutoff=0.6)
    hint = (f'did you mean {" or ".join(".".join(parent_parts + [c]) for c in close)}?' if close
            else f'it takes {", ".join(known)}.')
    raise CfgOptionError(f'--cfg-options {key}: {".".join(parent_parts)} configures {name}, which takes no '
                         f'{new!r}; {hint} (to pass it anyway: +{key}=...)')


def check_option_value(original, key: str, value) -> None:
    """A number or a flag of the config set to text (``optimizer.lr=abc``) is refused: it would fail deep inside
    the optimizer or a hook, or silently be truthy."""
    node = original
    for part in key.split('.'):
        node = _child(node, part)
        if node is _MISSING:
            return
    if isinstance(node, bool) and not isinstance(value, bool):
        raise CfgOptionError(f'--cfg-options {key}={value}: expected True or False (the config has {node})')
    if isinstance(node, (int, float)) and not isinstance(node, bool) and isinstance(value, str):
        raise CfgOptionError(f'--cfg-options {key}={value}: expected a number (the config has {node!r})')
