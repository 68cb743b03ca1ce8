"""Which vdense backbone (family and variant) a checkpoint holds, in any layout a family converter knows.

Used by tools/convert_checkpoint.py and tools/export_backbone.py. Candidates are built on the ``meta`` device
(shapes only, no memory), each family's converter is run on the checkpoint, and the variant whose every tensor
fits wins.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Union

import torch

from .utils import split_compatible, summarize_keys, unwrap_state_dict


@dataclass
class Identified:
    family: str                       # class name, e.g. 'ScalableViT'
    arch: Union[str, dict]            # variant key of the family's arch_zoo, or a dict arch
    state: Dict[str, torch.Tensor]    # converted weights that fit the variant
    num_source: int                   # tensors in the source
    dropped: int                      # source tensors the converter left out on purpose (heads, index buffers)
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[str] = field(default_factory=list)

    def summary(self) -> str:
        arch = self.arch if isinstance(self.arch, str) else 'custom'
        return (f'{self.family}-{arch}: {len(self.state)} tensors converted from {self.num_source} '
                f'({self.dropped} dropped: heads/buffers the backbone rebuilds); '
                f'{summarize_keys(self.missing, self.unexpected, self.mismatched)}')


# Backbone classes by family name, filled by the classes themselves (vdense.models.backbones registers them on
# import), so that the converters never import model code.
FAMILIES: Dict[str, type] = {}


def register_family(cls: type) -> type:
    """Class decorator: makes a backbone (with ``arch_zoo`` and ``convert_checkpoint``) known to identification."""
    FAMILIES[cls.__name__] = cls
    return cls


def _families() -> Dict[str, type]:
    if not FAMILIES:
        raise RuntimeError('no backbone family registered: import vdense.models before identifying checkpoints')
    return dict(FAMILIES)


def identify_backbone(checkpoint: Mapping, family: Optional[str] = None,
                      arch: Union[str, dict, None] = None) -> Identified:
    """The best-fitting (family, variant) for ``checkpoint``, or the given ones; raises ValueError naming what was
    tried."""
    families = _families()
    if family is not None:
        if family not in families:
            raise ValueError(f'unknown family {family!r}: choose from {sorted(families)}')
        families = {family: families[family]}
    num_source = len(unwrap_state_dict(checkpoint))
    best, tried = None, []
    for name, cls in families.items():
        for variant in ([arch] if arch is not None else list(cls.arch_zoo)):
            with torch.device('meta'):
                model = cls(arch=variant)
            try:
                state = model.convert_checkpoint(checkpoint)
            except (KeyError, ValueError, RuntimeError) as e:
                tried.append(f'{name}: {e}'[:100])
                break  # the layout is not this family's: no variant will do better
            target = model.state_dict()
            loadable, missing, unexpected, mismatched = split_compatible(target, state)
            # Output norms a classifier/detector does not have are expected to be missing.
            missing = [k for k in missing if not k.startswith('norm')]
            score = (len(loadable) - 10 * (len(unexpected) + len(mismatched) + len(missing)), -len(missing))
            candidate = Identified(family=name, arch=variant, state=dict(loadable), num_source=num_source,
                                   dropped=max(num_source - len(state), 0), missing=missing, unexpected=unexpected,
                                   mismatched=mismatched)
            if best is None or score > best[0]:
                best = (score, candidate)
    if best is None or not best[1].state:
        raise ValueError('no vdense backbone matches this checkpoint' + (f' (tried: {"; ".join(tried)})' if tried
                                                                         else ''))
    return best[1]


def identify_in_checkpoint(checkpoint: Mapping, family: Optional[str] = None) -> Identified:
    """The backbone of any checkpoint vdense reads: a released/foreign backbone or classifier, a vdense backbone-only
    file (family and arch from its meta), or a whole detector/segmentor/classifier training checkpoint (``backbone.``
    weights; a custom arch is read from the config text mmengine stores with it, parsed as data, never run)."""
    from .config_text import backbone_from_config_text
    from .utils import strip_backbone_prefix
    state = unwrap_state_dict(checkpoint)
    arch = None
    meta = checkpoint.get('meta') if isinstance(checkpoint.get('meta'), Mapping) else {}
    if any(k.startswith('backbone.') for k in state):
        hint = backbone_from_config_text(meta.get('cfg'))
        checkpoint = {'state_dict': strip_backbone_prefix(state)}
    else:  # a vdense backbone-only file names its family and arch (a custom dict arch fits no zoo variant)
        arch_hint = meta.get('arch') if isinstance(meta.get('arch'), (str, dict)) else None
        hint = (meta['family'], arch_hint) if isinstance(meta.get('family'), str) else None
    if hint is not None and hint[0] in _families() and family in (None, hint[0]):
        family, arch = hint
    return identify_backbone(checkpoint, family, arch)
