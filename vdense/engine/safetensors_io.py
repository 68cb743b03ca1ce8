"""``.safetensors`` checkpoints: tensors and a header of strings, no pickle at all (timm and the HF hub ship them).

Read by :func:`vdense.engine.checkpoint_reader.read_checkpoint` (so every vdense reader takes them: ``init_cfg``,
``load_from``, tools/test.py, infer.py, export_onnx.py, the converters) as ``{'state_dict': tensors, 'meta': ...}``,
the layout of vdense's backbone files; written by :func:`vdense.converters.publish.save_backbone`
(``--format safetensors``). The content-hash name check (``NAME-<sha256[:8]>.safetensors``) is
``read_checkpoint``'s, before this module sees the file.

The header's ``__metadata__`` holds strings only: vdense writes each meta entry under its own key, a string as it
is and anything else (a dict arch, an epoch) as JSON, with those keys listed in ``json_keys`` so that reading gives
back the same types (a string that merely looks like JSON stays a string).
"""
import json
import os.path as osp
import struct
from typing import Any, Dict, Mapping

import torch

SUFFIX = '.safetensors'
JSON_KEYS = 'json_keys'  # metadata entry: comma-separated names of the entries stored as JSON
# The format's own limit on the header (safetensors' MAX_HEADER_SIZE): a larger length field is not a header.
_MAX_HEADER = 100_000_000


def _error(path: str, what: str) -> Exception:
    from .checkpoint_reader import CheckpointError, safe_text
    return CheckpointError(f'{safe_text(path)}: {what}')


def is_safetensors(path: str) -> bool:
    """By name (``*.safetensors``) or by content: an 8-byte little-endian header length that fits the file,
    followed by the JSON header's ``{`` (so a safetensors file saved under another name is read as one too)."""
    if str(path).lower().endswith(SUFFIX):
        return True
    try:
        with open(path, 'rb') as f:
            head = f.read(9)
        size = osp.getsize(path)
    except OSError:
        return False
    if len(head) < 9 or head[8:9] != b'{':
        return False
    n = struct.unpack('<Q', head[:8])[0]
    return n <= min(_MAX_HEADER, size - 8)


def encode_metadata(meta: Mapping[str, Any]) -> Dict[str, str]:
    """``meta`` as the string-to-string map the header holds (``format: pt`` as timm and the HF hub write it)."""
    out, as_json = {'format': 'pt'}, []
    for k, v in meta.items():
        if k in ('format', JSON_KEYS):
            raise ValueError(f'meta key {k!r} is reserved in a safetensors header')
        if isinstance(v, str):
            out[str(k)] = v
        else:
            out[str(k)] = json.dumps(v, sort_keys=True)
            as_json.append(str(k))
    if as_json:
        out[JSON_KEYS] = ','.join(as_json)
    return out


def decode_metadata(path: str, metadata: Mapping[str, str]) -> Dict[str, Any]:
    meta = {k: v for k, v in metadata.items() if k not in ('format', JSON_KEYS)}
    for k in filter(None, metadata.get(JSON_KEYS, '').split(',')):
        if k not in meta:
            continue
        try:
            meta[k] = json.loads(meta[k])
        except ValueError:
            raise _error(path, f'header metadata {k!r} is listed as JSON but is not: the header was edited or '
                               'damaged (download or copy the file again)') from None
    return meta


def read_safetensors(path: str, map_location: Any = 'cpu') -> Dict[str, Any]:
    """``{'state_dict': tensors, 'meta': header metadata}`` of a ``.safetensors`` file, or ``CheckpointError`` with
    one line. The safetensors library validates the header (sizes, offsets, dtypes) before any tensor is made."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open
    if osp.getsize(path) == 0:
        raise _error(path, 'the file is empty')
    device = str(map_location) if isinstance(map_location, (str, torch.device)) else 'cpu'
    try:
        with safe_open(path, framework='pt') as f:
            metadata = f.metadata() or {}
        state = load_file(path, device=device)
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        from .checkpoint_reader import safe_text
        first_line = safe_text(str(e).splitlines()[0] if str(e) else type(e).__name__, limit=160)
        raise _error(path, f'not a valid safetensors file ({first_line}); download or copy it again') from None
    if not state:
        raise _error(path, 'a safetensors file with no tensors')
    return {'state_dict': state, 'meta': decode_metadata(path, metadata)}


def write_safetensors(state: Mapping[str, torch.Tensor], path: str, meta: Mapping[str, Any]) -> None:
    """Writes ``state`` (CPU, contiguous; tensors sharing memory, which the format refuses, are copied) and ``meta``
    in the header."""
    from safetensors.torch import save_file
    tensors, storages = {}, set()
    for k, v in state.items():
        v = v.detach().cpu().contiguous()
        if v.numel() and v.untyped_storage().data_ptr() in storages:
            v = v.clone()
        storages.add(v.untyped_storage().data_ptr())
        tensors[k] = v
    save_file(tensors, path, metadata=encode_metadata(meta))


__all__ = ['SUFFIX', 'is_safetensors', 'read_safetensors', 'write_safetensors', 'encode_metadata',
           'decode_metadata']
