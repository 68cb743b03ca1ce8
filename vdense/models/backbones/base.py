"""What every hierarchical backbone shares: the stage loop, arch resolution, output selection and norms, freezing,
pretrained loading and the renaming of older vdense layouts."""
import copy
import logging
from typing import Callable, Dict, Iterable, List, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.runner.checkpoint import CheckpointLoader

from vdense.converters.utils import split_compatible, summarize_keys
from vdense.engine.checkpoint_reader import CheckpointError, read_checkpoint
from vdense.engine.coverage import MIN_COVERAGE_INIT, check_pretrained_family, group_keys


class HierarchicalBackbone(BaseModule):
    """Base of the vdense backbones: a stem ``patch_embed``, then ``stages[i]`` (:class:`~vdense.models.layers.Stage`:
    ``downsample``, ``blocks``, a forward), each stage's output through its own norm ``norm{i}``.

    Subclasses build their stem and stages, then call :meth:`_build_output_norms`, and implement
    :meth:`init_from_scratch`, :meth:`convert_checkpoint` (any supported checkpoint layout -> this class's
    state-dict keys) and :meth:`_keys_from_v1` (renames of the pre-stage-shape vdense layout).

    Args:
        arch: a variant name of ``arch_zoo`` (or an ``arch_aliases`` alias), or a dict; see :meth:`resolve_arch`.
        out_indices: stages whose outputs are returned, each through its own norm ``norm{i}``.
        frozen_stages: -1 freezes nothing, 0 the stem, k the stem and the first k stages (parameters get no
            gradient, modules stay in eval mode through ``train()``).
        with_cp: activation checkpointing per block: less memory for some recomputation.
    """
    # 2: one stage shape (stages.i.{downsample, blocks.j, pos_block}); 1 (or no version): the layout before it.
    _version = 2
    arch_zoo: Dict[str, dict] = {}       # variant name -> settings
    arch_aliases: Dict[str, str] = {}    # e.g. 'tiny' -> 't'
    # Swin (as mmdet) counts the patch merging that ends a stage as part of it for freezing; the others freeze the
    # downsampling at the start of each frozen stage.
    freezes_next_downsample = False

    def __init__(self, arch: Union[str, dict], out_indices: Sequence[int], frozen_stages: int, with_cp: bool,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.arch_settings = self.resolve_arch(arch)
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.with_cp = with_cp
        self._shapes_with_tables = set()

    # ---- to implement -------------------------------------------------------------------------------------
    num_stages: int
    num_features: List[int]
    patch_embed: nn.Module
    stages: nn.ModuleList

    @classmethod
    def _check_arch(cls, cfg: dict) -> dict:
        """Completes (defaults, other projects' forms) and validates a copy of an arch's settings; raises ValueError."""
        return cfg

    def _keys_from_v1(self, keys: Iterable[str], prefix: str) -> Dict[str, str]:
        """``{old: new}`` for the keys (under ``prefix``) in the layout before the stages shared one shape."""
        raise NotImplementedError

    def init_from_scratch(self) -> None:
        raise NotImplementedError

    def convert_checkpoint(self, checkpoint) -> dict:
        raise NotImplementedError

    # ---- shared machinery ---------------------------------------------------------------------------------
    @property
    def with_cp(self) -> bool:
        return self._with_cp

    @with_cp.setter
    def with_cp(self, value: bool) -> None:
        # the stages checkpoint their blocks; a later assignment reaches them too
        self._with_cp = value
        for stage in getattr(self, 'stages', ()):
            stage.with_cp = value

    @classmethod
    def resolve_arch(cls, arch: Union[str, dict]) -> dict:
        """A copy of a named variant's settings, or of a dict arch, completed and checked by :meth:`_check_arch`."""
        if isinstance(arch, str):
            key = cls.arch_aliases.get(arch.lower(), arch.lower())
            if key not in cls.arch_zoo:
                raise ValueError(f'unknown {cls.__name__} arch {arch!r}: choose from {sorted(cls.arch_zoo)} '
                                 f'or {sorted(cls.arch_aliases)}, or pass a dict')
            arch = cls.arch_zoo[key]
        return cls._check_arch(copy.deepcopy(dict(arch)))

    @classmethod
    def _require_arch_keys(cls, cfg: dict, required: Sequence[str]) -> None:
        missing = set(required) - set(cfg)
        if missing:
            raise ValueError(f'a {cls.__name__} arch dict needs {sorted(required)}; {sorted(missing)} missing '
                             f'from {sorted(cfg)}')

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """(B, 3, H, W), any H and W -> the ``out_indices`` stages' normed NCHW maps (strides 4, 8, 16, 32)."""
        if torch.compiler.is_compiling():
            self._build_tables_for(x)
        return self.forward_stages(x)

    def forward_stages(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """(B, 3, H, W) -> the ``out_indices`` stages' normed NCHW maps."""
        x = self.patch_embed(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.out_indices:
                outs.append(self._output(i, x))
        return tuple(outs)

    @torch.compiler.disable
    def _build_tables_for(self, x: torch.Tensor) -> None:
        """Under ``torch.compile``: one eager pass per new input shape before dynamo traces the blocks, so that the
        window index tables, masks and rel-pos indices they look up are all cached. A miss builds its table with
        data-dependent ops outside the graph, which would cut every block's graph; a hit traces as a graph input.
        The only graph break is this call, outside the blocks."""
        shape = tuple(x.shape)
        if shape not in self._shapes_with_tables:
            with torch.no_grad(), torch.random.fork_rng(devices=[x.device] if x.device.type == 'cuda' else []):
                self.forward_stages(x)  # same random draws (drop path) for the real pass that follows
            self._shapes_with_tables.add(shape)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, *args, **kwargs):
        # Whole detector/segmentor checkpoints reach here through mmengine's load_from, bypassing the converters:
        # keys saved before the stages shared one shape are renamed in place (PyTorch hands the same dict on to
        # the children). Checkpoints of this version skip it; unversioned ones (converted or hand-made dicts) are
        # renamed only where they are in the old layout, which the family functions tell unambiguously.
        if (local_metadata.get('version') or 1) < 2:
            self.rename_v1_keys(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, *args, **kwargs)

    def rename_v1_keys(self, state_dict: dict, prefix: str = '') -> None:
        """Renames, in place, the keys under ``prefix`` that are in the layout before the stages shared one shape
        (the others are left as they are). Also used to count a checkpoint's coverage as loading will see it."""
        renames = self._keys_from_v1([k for k in state_dict if k.startswith(prefix)], prefix)
        values = {old: state_dict.pop(old) for old in renames}  # all out first: renames may chain
        state_dict.update((renames[old], v) for old, v in values.items())

    def _build_output_norms(self, norm_layer: Callable[[int], nn.Module]) -> None:
        # Checked here, the one place every subclass calls once its stage count is known.
        if not -1 <= self.frozen_stages <= self.num_stages:
            raise ValueError(f'frozen_stages must lie in [-1, {self.num_stages}] for {type(self).__name__} '
                             f'({self.num_stages} stages; -1 freezes nothing, {self.num_stages} the whole backbone), '
                             f'got {self.frozen_stages}')
        for i in self.out_indices:
            if not 0 <= i < self.num_stages:
                raise ValueError(f'out_indices must lie in [0, {self.num_stages - 1}], got {self.out_indices}')
            self.add_module(f'norm{i}', norm_layer(self.num_features[i]))

    def _output(self, i: int, x: torch.Tensor) -> torch.Tensor:
        """Channels-last stage output -> normed NCHW map."""
        return getattr(self, f'norm{i}')(x).permute(0, 3, 1, 2).contiguous()

    def _frozen_modules(self) -> List[nn.Module]:
        if self.frozen_stages < 0:
            return []
        modules = [self.patch_embed]
        for i in range(self.frozen_stages):
            modules.append(self.stages[i])
            if i in self.out_indices:
                modules.append(getattr(self, f'norm{i}'))
        if self.freezes_next_downsample and 0 < self.frozen_stages < self.num_stages:
            modules.append(self.stages[self.frozen_stages].downsample)
        return modules

    def _freeze_stages(self) -> None:
        for m in self._frozen_modules():
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        return self

    def init_weights(self) -> None:
        # Scratch init first, so that whatever a checkpoint does not hold (new output norms) is initialised well.
        self.init_from_scratch()
        if self.init_cfg is not None and self.init_cfg.get('type') == 'Pretrained':
            self.load_pretrained(self.init_cfg['checkpoint'])
        else:
            super().init_weights()  # honours other init_cfg types (e.g. Kaiming on a submodule)
        self._is_init = True

    def load_pretrained(self, path: str) -> None:
        """Loads any supported checkpoint layout, converting it, and reports the keys that did not match. Refuses
        (``CheckpointError``, one line) a file that fills less than half of the backbone: another family's weights
        would otherwise "load" with every key missing and train from a random start."""
        if '://' in path:  # URLs and object stores: mmengine's loaders (torch's weights_only default applies)
            checkpoint = CheckpointLoader.load_checkpoint(path, map_location='cpu', logger='current')
        else:
            checkpoint = read_checkpoint(path)
        try:
            state = self.convert_checkpoint(checkpoint)
        except (ValueError, KeyError) as e:
            raise CheckpointError(f'{path}: not a {type(self).__name__} checkpoint in any layout vdense knows: '
                                  f'{e}') from None
        target = self.state_dict()
        loadable, missing, unexpected, mismatched = split_compatible(target, state)
        if len(loadable) < MIN_COVERAGE_INIT * len(target):
            raise CheckpointError(f'{path}: only {len(loadable)}/{len(target)} tensors fit {type(self).__name__} '
                                  f'(below the {MIN_COVERAGE_INIT:.0%} a Pretrained init needs: another family or '
                                  f'variant?); {summarize_keys(missing, unexpected, mismatched, limit=4)}')
        check_pretrained_family(self, state, path)  # shared key names must not let another family through
        self.load_state_dict(loadable, strict=False)
        unused = unexpected + [k.split(' ')[0] for k in mismatched]  # e.g. a deeper variant's extra blocks
        detail = (f'{len(unused)} of its tensors unused ({group_keys(unused, state)})'
                  + (f'; {summarize_keys(missing, (), ())}' if missing else '')
                  if unused else summarize_keys(missing, unexpected, mismatched))
        print_log(f'{type(self).__name__}: loaded {len(loadable)}/{len(target)} tensors from {path}; {detail}',
                  logger='current', level=logging.WARNING if unused else logging.INFO)
