"""Backbone-only checkpoints: ``{'state_dict': backbone weights without prefix, 'meta': {...}}``, published with a
content-hash suffix as mmengine/mmdet's ``publish_model`` do, so any MM project's ``init_cfg`` loads them.

:func:`publish_backbone` is the one flow behind tools/convert_checkpoint.py and tools/export_backbone.py: read
(as data), identify the family and variant, convert, write (``.pth`` by default, or ``.safetensors``)."""
import hashlib
import json
import os
import os.path as osp
from typing import Dict, Optional

import torch

FORMATS = ('pth', 'safetensors')


def output_format(out: str, fmt: Optional[str] = None) -> str:
    """``fmt``, or the one ``out``'s suffix names (``.safetensors``; otherwise ``pth``, which any MM project loads).
    A suffix that names the other format is a mistake worth one line, not a file of the wrong kind."""
    suffix = osp.splitext(out)[1].lower()
    if fmt is None:
        return 'safetensors' if suffix == '.safetensors' else 'pth'
    if fmt not in FORMATS:
        raise ValueError(f'unknown checkpoint format {fmt!r}: choose from {", ".join(FORMATS)}')
    if (fmt == 'safetensors') != (suffix == '.safetensors') and suffix in ('.safetensors', '.pth', '.pt'):
        raise ValueError(f'{out}: --format {fmt} writes a .{"safetensors" if fmt == "safetensors" else "pth"} file; '
                         'name the output accordingly')
    return fmt


def save_backbone(state: Dict[str, torch.Tensor], out: str, meta: dict, with_hash: bool = True,
                  fmt: Optional[str] = None) -> str:
    """Writes ``state`` and ``meta`` to ``out`` (``name-<sha256[:8]>.pth`` when ``with_hash``); returns the path.

    ``fmt='safetensors'`` (or an ``out`` ending in ``.safetensors``) writes the tensors with ``meta`` as strings in
    the header (vdense.engine.safetensors_io) instead of ``{'state_dict': ..., 'meta': ...}`` in a ``.pth``."""
    fmt = output_format(out, fmt)
    if fmt == 'safetensors':
        stem, ext = (out[:-len('.safetensors')] if out.lower().endswith('.safetensors') else out), '.safetensors'
        final = stem + ext
    else:
        stem, ext = osp.splitext(out)
        ext, final = ext or '.pth', out
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    tmp = final + '.tmp'
    if fmt == 'safetensors':
        from vdense.engine.safetensors_io import write_safetensors
        write_safetensors(state, tmp, meta)
    else:
        torch.save({'state_dict': {k: v.detach().cpu().contiguous() for k, v in state.items()}, 'meta': meta}, tmp)
    if with_hash:
        sha = hashlib.sha256()
        with open(tmp, 'rb') as f:
            for chunk in iter(lambda: f.read(1 << 20), b''):
                sha.update(chunk)
        final = f'{stem}-{sha.hexdigest()[:8]}{ext}'
    os.replace(tmp, final)
    return final


def publish_backbone(src: str, dst: str, family: Optional[str] = None, with_hash: bool = True,
                     fmt: Optional[str] = None):
    """Converts any checkpoint vdense reads (released or foreign backbone/classifier, vdense backbone-only file,
    whole detector/segmentor/classifier training checkpoint) to a backbone-only file; returns ``(Identified, path)``.
    The training epoch/iteration, where the source has them, are kept in the meta. Raises ``CheckpointError``."""
    from vdense.engine.checkpoint_reader import CheckpointError, ensure_not_overwriting, read_checkpoint

    from .arch_check import check_stored_arch
    from .identify import FAMILIES, identify_in_checkpoint
    ensure_not_overwriting(src, dst)
    try:
        output_format(dst, fmt)  # before the (long) reading
    except ValueError as e:
        raise CheckpointError(str(e)) from None
    checkpoint = read_checkpoint(src)
    try:
        check_stored_arch(checkpoint, FAMILIES, family)  # the file's arch is data: checked before a model is built
        found = identify_in_checkpoint(checkpoint, family)
    except ValueError as e:
        raise CheckpointError(f'{src}: {e}') from None
    # Plain types only (a ConfigDict or tuple arch would not load under torch's weights_only default).
    meta = dict(family=found.family, arch=json.loads(json.dumps(found.arch)), source=osp.abspath(src))
    source_meta = checkpoint.get('meta') if isinstance(checkpoint.get('meta'), dict) else {}
    meta.update((k, source_meta[k]) for k in ('epoch', 'iter') if isinstance(source_meta.get(k), int))
    return found, save_backbone(found.state, dst, meta, with_hash=with_hash, fmt=fmt)
