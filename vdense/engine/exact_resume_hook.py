"""Resuming gives the same run as not stopping: the random state of training is checkpointed and restored.

mmengine restores weights, optimizer, schedulers and the sampler's order, but not the random draws of the data
pipeline (RandomFlip, crops, ...) nor the generators of the training process (drop path), so 1 epoch + ``--resume``
differs from 2 epochs in one go. This hook makes it exact:

- Each sample's augmentation is drawn from generators seeded by (run seed, epoch, sample index), in the dataloader
  workers or, without workers, in the main process with its own generators set aside meanwhile. Augmentation then
  depends neither on how many workers there are nor on whether they persist, and needs no worker state in the
  checkpoint.
- The main process's python/numpy/torch (and CUDA) generators are saved in each checkpoint and restored on resume.
- Validation runs with those generators set aside, so evaluating (or not) never changes the training that follows.
"""
import random
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook

from vdense.registry import HOOKS


def _global_state(with_cuda: bool = True) -> dict:
    state = dict(python=random.getstate(), numpy=np.random.get_state(), torch=torch.get_rng_state())
    if with_cuda and torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def _set_global_state(state: dict) -> None:
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def _to_plain(state: dict) -> dict:
    """The generators' state as tensors, ints and strings: loadable with torch's weights_only."""
    version, internal, gauss = state['python']
    name, keys, pos, has_gauss, cached = state['numpy']
    plain = dict(python=dict(version=version, internal=torch.tensor(internal, dtype=torch.int64), gauss=gauss),
                 numpy=dict(name=name, keys=torch.from_numpy(keys.astype(np.int64)), pos=int(pos),
                            has_gauss=int(has_gauss), cached=float(cached)),
                 torch=state['torch'])
    if 'cuda' in state:
        plain['cuda'] = list(state['cuda'])
    return plain


def _from_plain(plain: dict) -> dict:
    python = plain['python']
    numpy = plain['numpy']
    state = dict(python=(python['version'], tuple(python['internal'].tolist()), python['gauss']),
                 numpy=(numpy['name'], numpy['keys'].numpy().astype(np.uint32), numpy['pos'], numpy['has_gauss'],
                        numpy['cached']),
                 torch=plain['torch'])
    if 'cuda' in plain:
        state['cuda'] = plain['cuda']
    return state


class EpochSeededDataset(torch.utils.data.Dataset):
    """Draws sample ``i`` of epoch ``e`` from generators seeded by (seed, e, i); forwards everything else."""

    def __init__(self, dataset, seed: int, epoch):
        self.dataset = dataset
        self.seed = seed
        self.epoch = epoch  # multiprocessing.Value: set in the main process, read in the workers

    def __len__(self):
        return len(self.dataset)

    def __getattr__(self, name):
        if name in ('dataset', 'seed', 'epoch'):  # not set yet (unpickling in a worker)
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __getitem__(self, idx):
        seed = int(np.random.SeedSequence([self.seed % 2**32, self.epoch.value, int(idx)]).generate_state(1)[0])
        in_main_process = torch.utils.data.get_worker_info() is None
        saved = _global_state(with_cuda=False) if in_main_process else None  # the pipeline draws on the CPU
        random.seed(seed)
        np.random.seed(seed)
        torch.random.default_generator.manual_seed(seed)
        try:
            return self.dataset[idx]
        finally:
            if saved is not None:
                _set_global_state(saved)


def _rebuild_with(loader, dataset, seed: int):
    """The same DataLoader over ``dataset`` (a DataLoader's dataset cannot be replaced in place), with a generator
    of its own: each new iterator draws a worker base seed from it, and drawn from the process's generator that
    would make drop path differ between a resumed run (workers started anew) and one that reuses persistent
    workers. The samples' draws do not depend on that base seed (see EpochSeededDataset)."""
    generator = loader.generator if loader.generator is not None else torch.Generator().manual_seed(seed)
    kwargs = dict(batch_sampler=loader.batch_sampler, num_workers=loader.num_workers, collate_fn=loader.collate_fn,
                  pin_memory=loader.pin_memory, timeout=loader.timeout, worker_init_fn=loader.worker_init_fn,
                  multiprocessing_context=loader.multiprocessing_context, generator=generator,
                  persistent_workers=loader.persistent_workers)
    if loader.num_workers > 0:
        kwargs['prefetch_factor'] = loader.prefetch_factor
    return torch.utils.data.DataLoader(dataset, **kwargs)


@HOOKS.register_module()
class ExactResumeHook(Hook):
    """Checkpoints and restores the random state of training so that resuming is exact (see the module doc)."""

    priority = 'VERY_HIGH'  # before other hooks draw random numbers at the start of training

    def __init__(self):
        self._resumed_state: Optional[dict] = None
        self._val_stash: Optional[dict] = None
        self._epoch = None

    def before_train(self, runner) -> None:
        import multiprocessing
        loop = runner.train_loop
        loader = loop.dataloader
        if not isinstance(loader.dataset, EpochSeededDataset) and loader.batch_sampler is not None:
            self._epoch = multiprocessing.Value('q', runner.epoch, lock=False)
            sampler = loader.batch_sampler.sampler if hasattr(loader.batch_sampler, 'sampler') else loader.sampler
            seed = runner.seed if runner.seed is not None else 0
            loop.dataloader = _rebuild_with(loader, EpochSeededDataset(loader.dataset, seed, self._epoch), seed)
            if hasattr(loop, 'dataloader_iterator'):  # IterBasedTrainLoop iterates through a wrapper
                from mmengine.runner.loops import _InfiniteDataloaderIterator
                loop.dataloader_iterator = _InfiniteDataloaderIterator(loop.dataloader)
            if hasattr(sampler, 'set_epoch'):
                set_epoch = sampler.set_epoch
                epoch = self._epoch

                def set_epoch_everywhere(e, _set_epoch=set_epoch):
                    _set_epoch(e)
                    epoch.value = int(e)
                sampler.set_epoch = set_epoch_everywhere
        if self._resumed_state is not None:
            # Restored here, not on loading: mmengine re-seeds everything after loading a resumed checkpoint.
            _set_global_state(self._resumed_state)
            self._resumed_state = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})['rng_state'] = _to_plain(_global_state())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        plain = checkpoint.get('meta', {}).get('rng_state')
        if plain is not None and runner._resume:
            self._resumed_state = _from_plain(plain)

    def before_val(self, runner) -> None:
        self._val_stash = _global_state()

    def after_val(self, runner) -> None:
        if self._val_stash is not None:
            _set_global_state(self._val_stash)
            self._val_stash = None
