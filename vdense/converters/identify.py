"""Which vdense backbone (family and variant) a checkpoint holds, in any layout a family converter knows.

Used by tools/convert_checkpoint.py and tools/export_backbone.py. Candidates are built on the ``meta`` device
(shapes only, no memory), each family's converter is run on the checkpoint, and the variant whose every tensor
fits wins.
"""
import functools
import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

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


# ---- what a state dict in vdense's own layout is, for one-line refusals ----------------------------------------
# Position tables depend on the window / input size, and classifiers keep only their last output norm: neither
# makes another variant.
_SIZE_DEPENDENT = re.compile(r'(relative_position_bias_table|rel_pos_[hw])$|^norm\d+\.')


def key_pattern(key: str) -> str:
    """``stages.2.blocks.7.attn.qkv.weight`` -> ``stages.#.blocks.#.attn.qkv.weight``: the key's place in a family's
    layout whatever the depth."""
    return re.sub(r'(?<=\.)\d+(?=\.|$)|^\d+(?=\.)', '#', key)


@functools.lru_cache(maxsize=None)
def _family_patterns(name: str) -> frozenset:
    cls = _families()[name]
    patterns = set()
    for variant in cls.arch_zoo:  # every variant: some change the layout (MViTv2-L projects at stage ends)
        with torch.device('meta'):
            patterns.update(key_pattern(k) for k in cls(arch=variant).state_dict())
    return frozenset(patterns)


def family_of_state(state: Mapping[str, torch.Tensor]) -> Optional[str]:
    """The family whose layout holds the most of ``state``'s tensors (vdense layout, no prefix), or None when no
    family holds most of them. Shared key names (``attn.qkv``, ``mlp.fc1``, ``norm1``) count for every family; the
    keys only one family has decide."""
    if not state:
        return None
    scores = {}
    for name in _families():
        patterns = _family_patterns(name)
        scores[name] = sum(key_pattern(k) in patterns for k in state) / len(state)
    best = max(scores, key=scores.get)
    return best if scores[best] >= 0.5 else None


def stage_depths(state: Mapping[str, torch.Tensor]) -> List[int]:
    """Blocks per stage of a vdense-layout state (``stages.i.blocks.j.``)."""
    depths: Dict[int, int] = {}
    for k in state:
        m = re.match(r'stages\.(\d+)\.blocks\.(\d+)\.', k)
        if m:
            i, j = int(m.group(1)), int(m.group(2))
            depths[i] = max(depths.get(i, 0), j + 1)
    return [depths.get(i, 0) for i in range(max(depths) + 1)] if depths else []


def _same_structure(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor]) -> bool:
    a = {k: tuple(v.shape) for k, v in a.items() if not _SIZE_DEPENDENT.search(k)}
    b = {k: tuple(v.shape) for k, v in b.items() if not _SIZE_DEPENDENT.search(k)}
    return a == b


def _arch_text(family: str, arch: Optional[str], depths: Sequence[int], width: Optional[int]) -> str:
    shape = f'depths {"-".join(map(str, depths))}' + ('' if arch or width is None else f', embed_dims {width}')
    return f'{family}-{arch} ({shape})' if arch else f'{family} with a custom arch ({shape})'


def _stem_width(state: Mapping[str, torch.Tensor]) -> Optional[int]:
    weight = state.get('patch_embed.proj.weight')
    return int(weight.shape[0]) if weight is not None and weight.dim() == 4 else None


def describe_backbone_state(state: Mapping[str, torch.Tensor]) -> Optional[Tuple[str, str]]:
    """``(family, text)`` for a backbone state in vdense's layout (no prefix), e.g. ``('Swin', 'Swin-s (depths
    2-2-18-2)')``; the variant is named when every tensor has that variant's shape. None: no vdense family."""
    family = family_of_state(state)
    if family is None:
        return None
    cls = _families()[family]
    for variant in cls.arch_zoo:
        with torch.device('meta'):
            candidate = cls(arch=variant).state_dict()
        if _same_structure(candidate, state):
            return family, _arch_text(family, variant, cls.resolve_arch(variant)['depths'], None)
    return family, _arch_text(family, None, stage_depths(state), _stem_width(state))


def describe_backbone_module(module: torch.nn.Module) -> Optional[Tuple[str, str]]:
    """``(family, text)`` for a built vdense backbone, e.g. ``('Swin', 'Swin-t (depths 2-2-6-2)')``; None for
    another backbone."""
    family = type(module).__name__
    cls = _families().get(family)
    settings = getattr(module, 'arch_settings', None)
    if cls is None or not isinstance(cls, type) or not isinstance(module, cls) or settings is None:
        return None
    named = next((v for v in cls.arch_zoo if cls.resolve_arch(v) == settings), None)
    return family, _arch_text(family, named, settings['depths'], _stem_width(module.state_dict()))
