"""One line for an exception raised inside the stack, naming the config entry or the file it came from.

The stack's exceptions say what went wrong but not where in the user's config: ``ValueError: need at least one
array to concatenate`` is a data set with no images, ``JSONDecodeError: Expecting value`` an empty annotation file.
The traceback knows where: the innermost registry build (``build_from_cfg``'s ``cfg``, found again in the loaded
config to name its entry, e.g. ``model.backbone``) and the innermost data set being loaded (its ``ann_file``).
"""
import json
import os.path as osp
from types import TracebackType
from typing import Iterator, List, Optional, Tuple

# The first lines of a worker's traceback carried in the message of the exception re-raised in the main process.
_WORKER_TRACEBACK = 'Traceback (most recent call last)'


def _chain(error: BaseException) -> List[BaseException]:
    """``error`` and the exceptions it was raised from or while handling, outermost first."""
    seen = [error]
    while True:
        nxt = seen[-1].__cause__ or seen[-1].__context__
        if nxt is None or nxt in seen or len(seen) > 8:
            return seen
        seen.append(nxt)


def _frames(error: BaseException) -> Iterator[Tuple[str, dict]]:
    """(function name, locals) of every frame of the exception chain, innermost last within each exception."""
    for e in reversed(_chain(error)):
        tb: Optional[TracebackType] = e.__traceback__
        while tb is not None:
            yield tb.tb_frame.f_code.co_name, tb.tb_frame.f_locals
            tb = tb.tb_next


def _config_nodes(node, path=''):
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _config_nodes(value, f'{path}.{key}' if path else str(key))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _config_nodes(value, f'{path}.{i}')


def config_entry(cfg, built: dict) -> Optional[str]:
    """Where in ``cfg`` the dict ``built`` (a copy that builders may have added to) comes from: the entry of the
    same ``type`` agreeing on the most shared keys, none contradicting."""
    if cfg is None or not isinstance(built, dict) or 'type' not in built:
        return None
    best, best_shared = None, -1
    for path, node in _config_nodes(cfg._cfg_dict if hasattr(cfg, '_cfg_dict') else cfg):
        if not path or node.get('type') != built.get('type'):
            continue
        shared = [k for k in node if k in built]
        try:
            if any(node[k] != built[k] for k in shared):
                continue
        except Exception:  # values that do not compare (arrays): not this one
            continue
        if len(shared) > best_shared:
            best, best_shared = path, len(shared)
    return best


def _message(error: BaseException) -> str:
    text = str(error)
    if _WORKER_TRACEBACK in text:  # re-raised from a dataloader worker: its last line is the error
        lines = [line for line in text.splitlines() if line.strip()]
        text = lines[-1] if lines else text
    text = ' '.join(text.split()) if text.count('\n') < 3 else text.strip().splitlines()[0]
    if isinstance(error, (KeyError, AssertionError, IndexError)) or not text:
        text = f'{type(error).__name__}: {text}' if text else type(error).__name__
    return text


def _dataset_in(error: BaseException):
    """The innermost data set object whose construction the traceback passes through, and the function names."""
    try:
        from mmengine.dataset import BaseDataset
    except ImportError:  # pragma: no cover - mmengine is a dependency
        return None, []
    found, names = None, []
    for name, local in _frames(error):
        names.append(name)
        obj = local.get('self')
        if isinstance(obj, BaseDataset):
            found = obj
    return found, names


def describe(error: BaseException, cfg=None) -> str:
    """The one line: ``WHERE: WHAT``, WHERE the config entry (and file) involved, when the traceback tells."""
    inner = _chain(error)[-1]
    what = _message(error)
    built = None
    for name, local in _frames(error):
        if name == 'build_from_cfg' and isinstance(local.get('cfg'), dict):
            built = local['cfg']  # the innermost wins
    where = ''
    if built is not None:
        entry = config_entry(cfg, built)
        kind = built.get('type')
        kind = kind if isinstance(kind, str) else getattr(kind, '__name__', str(kind))
        where = f'{entry} ({kind})' if entry else kind

    dataset, names = _dataset_in(error)
    if dataset is not None:
        ann_file = getattr(dataset, 'ann_file', '') or ''
        json_error = next((e for e in _chain(error) if isinstance(e, json.JSONDecodeError)), None)
        if json_error is not None or isinstance(inner, json.JSONDecodeError):
            json_error = json_error or inner
            if ann_file and osp.isfile(ann_file) and osp.getsize(ann_file) == 0:
                what = f'annotation file {ann_file} is empty'
            else:
                what = (f'annotation file {ann_file} is not valid JSON ({json_error.msg}, line {json_error.lineno} '
                        f'column {json_error.colno})')
        elif getattr(dataset, 'data_list', None) == [] and 'load_data_list' not in names:
            prefix = getattr(dataset, 'data_prefix', None)
            what = (f'the data set has 0 images (ann_file {ann_file or "-"}, data_prefix {prefix}'
                    f'{", filter_cfg " + str(dataset.filter_cfg) if getattr(dataset, "filter_cfg", None) else ""})')
        elif ann_file:
            what = f'reading {ann_file}: {what}'
    return f'{where}: {what}' if where else what
