"""Backbone-only checkpoints: ``{'state_dict': backbone weights without prefix, 'meta': {...}}``, published with a
content-hash suffix as mmengine/mmdet's ``publish_model`` do, so any MM project's ``init_cfg`` loads them."""
import hashlib
import os
import os.path as osp
from typing import Dict

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
