"""What every hierarchical backbone shares: output selection and norms, freezing, checkpointing, pretrained loading."""
from typing import Callable, Dict, List, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.runner.checkpoint import CheckpointLoader

from vdense.converters.utils import split_compatible, summarize_keys
from vdense.engine.checkpoint_reader import CheckpointError, read_checkpoint
from vdense.engine.coverage import MIN_COVERAGE_INIT


class HierarchicalBackbone(BaseModule):
    """Base of the vdense backbones.

    Subclasses build their layers, then call :meth:`_build_output_norms`, and implement :meth:`stage_modules`
    (the modules of stage ``i``, its downsampling included), :meth:`init_from_scratch` and
    :meth:`convert_checkpoint` (any supported checkpoint layout -> this class's state-dict keys).

    Args:
        out_indices: stages whose outputs are returned, each through its own norm ``norm{i}``.
        frozen_stages: -1 freezes nothing, 0 the stem (first downsampling), k the stem and the first k stages
            (parameters get no gradient, modules stay in eval mode through ``train()``).
        with_cp: activation checkpointing per block: less memory for some recomputation.
    """

    def __init__(self, out_indices: Sequence[int], frozen_stages: int, with_cp: bool, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.with_cp = with_cp
        self._shapes_with_tables = set()

    # ---- to implement -------------------------------------------------------------------------------------
    num_stages: int
    num_features: List[int]
    arch_zoo: Dict[str, dict] = {}       # variant name -> settings
    arch_aliases: Dict[str, str] = {}    # e.g. 'tiny' -> 't'

    def forward_stages(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """(B, 3, H, W) -> the ``out_indices`` stages' normed NCHW maps."""
        raise NotImplementedError

    def stage_modules(self, i: int) -> List[nn.Module]:
        raise NotImplementedError

    def init_from_scratch(self) -> None:
        raise NotImplementedError

    def convert_checkpoint(self, checkpoint) -> dict:
        raise NotImplementedError

    # ---- shared machinery ---------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """(B, 3, H, W), any H and W -> the ``out_indices`` stages' normed NCHW maps (strides 4, 8, 16, 32)."""
        if torch.compiler.is_compiling():
            self._build_tables_for(x)
        return self.forward_stages(x)

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

    @classmethod
    def _arch_settings(cls, arch: Union[str, dict], required: Sequence[str]) -> dict:
        """A copy of a named variant's settings, or of a dict arch checked for the ``required`` keys."""
        if isinstance(arch, str):
            key = cls.arch_aliases.get(arch.lower(), arch.lower())
            if key not in cls.arch_zoo:
                raise ValueError(f'unknown {cls.__name__} arch {arch!r}: choose from {sorted(cls.arch_zoo)} '
                                 f'or {sorted(cls.arch_aliases)}, or pass a dict')
            return dict(cls.arch_zoo[key])
        missing = set(required) - set(arch)
        if missing:
            raise ValueError(f'a {cls.__name__} arch dict needs {sorted(required)}; {sorted(missing)} missing '
                             f'from {sorted(arch)}')
        return dict(arch)

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

    def _run_block(self, block: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad and torch.is_grad_enabled():
            return cp.checkpoint(block, x, use_reentrant=False)
        return block(x)

    def _frozen_modules(self) -> List[nn.Module]:
        if self.frozen_stages < 0:
            return []
        modules = [self.stage_modules(0)[0]]  # the stem: stage 0's downsampling
        for i in range(min(self.frozen_stages, self.num_stages)):
            modules += self.stage_modules(i)
            if i in self.out_indices:
                modules.append(getattr(self, f'norm{i}'))
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
        self.load_state_dict(loadable, strict=False)
        print_log(f'{type(self).__name__}: loaded {len(loadable)}/{len(target)} tensors from {path}; '
                  f'{summarize_keys(missing, unexpected, mismatched)}', logger='current')
