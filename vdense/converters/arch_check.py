"""Checking the architecture a checkpoint names (a backbone-only file's ``meta['arch']``, a training checkpoint's
stored ``model.backbone.arch``) against the tensors it holds, before a model is built from it.

The arch is data from the file: identification builds a model from it, and a crafted ``depths`` of 1e7 would build
ten million blocks (minutes, even on the meta device). An arch is used only when it describes the file's weights."""
from typing import Mapping, Optional

import torch

from .config_text import backbone_from_config_text
from .utils import strip_backbone_prefix, unwrap_state_dict


def stored_arch(checkpoint: Mapping, family: Optional[str] = None):
    """``(family, arch, field, state)``: the dict arch a checkpoint names for its backbone (as identification reads
    it), the name of the field it comes from, and the backbone's state (no prefix); None when it names none, or
    names a family other than ``family``."""
    state = unwrap_state_dict(checkpoint)
    meta = checkpoint.get('meta') if isinstance(checkpoint.get('meta'), Mapping) else {}
    if any(k.startswith('backbone.') for k in state):
        hint, field = backbone_from_config_text(meta.get('cfg')), "the stored config's model.backbone.arch"
        state = strip_backbone_prefix(state)
    else:
        hint = (meta['family'], meta.get('arch')) if isinstance(meta.get('family'), str) else None
        field = "meta['arch']"
    if hint is None or not isinstance(hint[1], Mapping) or family not in (None, hint[0]):
        return None  # a variant name is looked up in the zoo, never built from the file's numbers
    return hint[0], hint[1], field, state


def check_stored_arch(checkpoint: Mapping, families: Mapping[str, type], family: Optional[str] = None) -> None:
    """Raises ValueError naming the field when the checkpoint's dict arch (see :func:`stored_arch`) is not one
    ``families[name].resolve_arch`` accepts, or does not match the tensors present: the blocks per stage
    (``stages.i.blocks.j``) and stem width of vdense's layout; in any layout, no more blocks than tensors."""
    found = stored_arch(checkpoint, family)
    if found is None or found[0] not in families:
        return
    from .identify import stage_depths  # the block count of vdense's layout, as the coverage check reads it
    name, arch, field, state = found
    try:
        settings = families[name].resolve_arch(dict(arch))
    except (ValueError, TypeError, KeyError) as e:
        raise ValueError(f'{field} is not a {name} arch: {e}') from None
    depths = settings.get('depths')
    if not (isinstance(depths, (list, tuple)) and depths
            and all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in depths)):
        raise ValueError(f'{field}: depths must be a list of positive integers, got {str(depths)[:80]}')
    if sum(depths) > len(state):  # every block holds several tensors, whatever the layout
        raise ValueError(f'{field}: depths {str(list(depths))[:80]} name {sum(depths)} blocks, but the file holds '
                         f'only {len(state)} tensors')
    in_file = stage_depths(state)
    if in_file and list(in_file) != list(depths):
        raise ValueError(f'{field}: depths {list(depths)} do not match the file, whose stages hold '
                         f'{"-".join(map(str, in_file))} blocks')
    widths = settings.get('embed_dims')
    first = widths[0] if isinstance(widths, (list, tuple)) and widths else widths
    stem = state.get('patch_embed.proj.weight')
    if isinstance(stem, torch.Tensor) and stem.dim() == 4 and first != stem.shape[0]:
        raise ValueError(f'{field}: embed_dims {str(widths)[:80]} do not match the file, whose stem is '
                         f'{stem.shape[0]} wide')
