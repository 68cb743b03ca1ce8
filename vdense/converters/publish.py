"""Backbone-only checkpoints: ``{'state_dict': backbone weights without prefix, 'meta': {...}}``, published with a
content-hash suffix as mmengine/mmdet's ``publish_model`` do, so any MM project's ``init_cfg`` loads them.

:func:`publish_backbone` is the one flow behind tools/convert_checkpoint.py and tools/export_backbone.py: read
(as data), identify the family and variant, convert, write."""
import hashlib
import json
import os
import os.path as osp
from typing import Dict, Optional

import torch


def save_backbone(state: Dict[str, torch.Tensor], out: str, meta: dict, with_hash: bool = True) -> str:
    """Writes ``state`` and ``meta`` to ``out`` (``name-<sha256[:8]>.pth`` when ``with_hash``); returns the path."""
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    tmp = out + '.tmp'
    torch.save({'state_dict': {k: v.detach().cpu().contiguous() for k, v in state.items()}, 'meta': meta}, tmp)
    if not with_hash:
        os.replace(tmp, out)
        return out
    sha = hashlib.sha256()
    with open(tmp, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            sha.update(chunk)
    stem, ext = osp.splitext(out)
    final = f'{stem}-{sha.hexdigest()[:8]}{ext or ".pth"}'
    os.replace(tmp, final)
    return final


def publish_backbone(src: str, dst: str, family: Optional[str] = None, with_hash: bool = True):
    """Converts any checkpoint vdense reads (released or foreign backbone/classifier, vdense backbone-only file,
    whole detector/segmentor/classifier training checkpoint) to a backbone-only file; returns ``(Identified, path)``.
    The training epoch/iteration, where the source has them, are kept in the meta. Raises ``CheckpointError``."""
    from vdense.engine.checkpoint_reader import CheckpointError, ensure_not_overwriting, read_checkpoint

    from .identify import identify_in_checkpoint
    ensure_not_overwriting(src, dst)
    checkpoint = read_checkpoint(src)
    try:
        found = identify_in_checkpoint(checkpoint, family)
    except ValueError as e:
        raise CheckpointError(f'{src}: {e}') from None
    # Plain types only (a ConfigDict or tuple arch would not load under torch's weights_only default).
    meta = dict(family=found.family, arch=json.loads(json.dumps(found.arch)), source=osp.abspath(src))
    source_meta = checkpoint.get('meta') if isinstance(checkpoint.get('meta'), dict) else {}
    meta.update((k, source_meta[k]) for k in ('epoch', 'iter') if isinstance(source_meta.get(k), int))
    return found, save_backbone(found.state, dst, meta, with_hash=with_hash)
