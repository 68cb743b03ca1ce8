"""mmengine's CheckpointHook, made safe against a kill at any instant.

mmengine 0.10.7 deletes the oldest checkpoint *before* writing the new one, writes in place, and then points
``last_checkpoint`` at the new name: a run killed while saving with ``max_keep_ckpts=1`` keeps no checkpoint at all
and ``--resume`` follows ``last_checkpoint`` to a missing or half-written file. Here each checkpoint is written to a
temporary name, flushed to disk and renamed (atomic on POSIX), ``last_checkpoint`` is replaced the same way after
it, and outdated checkpoints are deleted last. The best checkpoint (``save_best``) is saved the same way: the new
one takes its name complete, and only then is the previous one deleted. A save that fails (read-only folder, full
disk) removes its partial file and ends the run with one line. Same arguments and file names as mmengine's hook.

Paths are never taken from a checkpoint: mmengine deletes (and ``published_keys`` rewrites) the file that the
resumed message hub names as ``best_ckpt``, so a crafted ``--resume`` file could name any file. Here a previous best
is only used when it is a ``best_*`` file directly in this run's checkpoint folder, and ``keep_ckpt_ids`` must be
step numbers; anything else is dropped with a warning.
"""
import os
import os.path as osp
import re

from mmengine.dist import is_main_process
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import CheckpointHook

from vdense.registry import HOOKS

from .checkpoint_reader import CheckpointError, safe_text


class CheckpointSaveError(CheckpointError):
    """A checkpoint could not be written (its partial file was removed)."""


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def _save_failed(path: str, error: OSError) -> CheckpointSaveError:
    return CheckpointSaveError(f'{path}: cannot write the checkpoint ({error.strerror or error}); nothing partial was '
                               'left and the previous checkpoints are intact: free disk space or make the folder '
                               'writable, then continue with --resume')


def replace_atomically(path: str, text: str) -> None:
    tmp = path + '.tmp'
    try:
        with open(tmp, 'w') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        _remove_quietly(tmp)
        if isinstance(e, OSError):
            raise _save_failed(path, e) from None
        raise


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """:class:`mmengine.hooks.CheckpointHook` whose last good checkpoint survives a kill during a save."""

    # ---- no path from the resumed message hub is trusted ---------------------------------------------------------
    def before_train(self, runner) -> None:
        hub = runner.message_hub
        ids = hub.runtime_info.get('keep_ckpt_ids')
        if ids is not None:  # mmengine deletes out_dir/filename_tmpl.format(id) for the oldest ones
            steps = [i for i in ids if isinstance(i, int) and not isinstance(i, bool) and i >= 0] \
                if isinstance(ids, (list, tuple)) else []
            if len(steps) != len(ids if isinstance(ids, (list, tuple)) else [ids]):
                runner.logger.warning(f'vdense: the resumed checkpoint lists checkpoints to keep that are not step '
                                      f'numbers ({safe_text(ids, limit=120)}); they are ignored')
            hub.update_info('keep_ckpt_ids', steps)
        super().before_train(runner)
        if is_main_process() and isinstance(self.file_backend, LocalBackend):
            self._remove_partial_saves(runner)
        if self.save_best is None:
            return
        if getattr(self, 'best_ckpt_path', None) is not None:
            self.best_ckpt_path = self._own_best(runner, 'best_ckpt', self.best_ckpt_path)
        for key, path in list(getattr(self, 'best_ckpt_path_dict', {}).items()):
            self.best_ckpt_path_dict[key] = self._own_best(runner, f'best_ckpt_{key}', path)

    def _remove_partial_saves(self, runner) -> None:
        """The ``.tmp`` file a killed save left (only names this hook writes: ``filename_tmpl`` steps, ``best_*``)."""
        if not osp.isdir(self.out_dir):
            return
        step_name = re.compile(re.escape(self.filename_tmpl).replace(re.escape('{}'), r'\d+') + r'\.tmp')
        for name in os.listdir(self.out_dir):
            if name.endswith('.tmp') and (step_name.fullmatch(name) or name.startswith('best_')):
                _remove_quietly(osp.join(self.out_dir, name))
                runner.logger.info(f'vdense: removed {name}, the partial file of a save that was interrupted')

    def _own_best(self, runner, info_key: str, path):
        """``path`` if it is a previous best checkpoint of this run's folder, else None (dropped with a warning)."""
        if isinstance(path, str) and self._is_own_best(path):
            return path
        runner.message_hub.runtime_info.pop(info_key, None)
        runner.logger.warning(f'vdense: the resumed checkpoint names {safe_text(path, limit=200)} as the previous '
                              f'best checkpoint; not a best_* file in this run\'s checkpoint folder {self.out_dir}, '
                              'it is left alone (never deleted or rewritten)')
        return None

    def _is_own_best(self, path: str) -> bool:
        if not isinstance(self.file_backend, LocalBackend):  # object stores: only a name directly under out_dir
            return path == self.file_backend.join_path(self.out_dir, osp.basename(path)) \
                and osp.basename(path).startswith('best_')
        return (osp.basename(path).startswith('best_') and not osp.islink(path)
                and osp.realpath(osp.dirname(path)) == osp.realpath(self.out_dir))

    # ---- atomic saves ---------------------------------------------------------------------------------------
    def _save_atomically(self, runner, filename: str, **kwargs) -> str:
        """Saves ``filename`` in ``out_dir`` through ``<filename>.tmp``: fsync, then rename; on any failure the
        partial file is removed (an OSError becomes one line). Returns the final path."""
        final = osp.join(self.out_dir, filename)
        tmp = final + '.tmp'
        try:
            runner.save_checkpoint(self.out_dir, filename + '.tmp', self.file_client_args,
                                   backend_args=self.backend_args, **kwargs)
            if is_main_process():
                if osp.isfile(tmp):
                    _fsync(tmp)
                os.replace(tmp, final)
        except BaseException as e:
            if is_main_process():
                _remove_quietly(tmp)
            if isinstance(e, OSError):
                raise _save_failed(final, e) from None
            raise
        return final

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not isinstance(self.file_backend, LocalBackend):  # object stores: mmengine's own path
            return super()._save_checkpoint_with_step(runner, step, meta)
        ckpt_filename = self.filename_tmpl.format(step)
        outdated = []
        # The same bookkeeping as mmengine's, done before saving so that the saved message hub lists this step ...
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        self.last_ckpt = osp.join(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)

        self._save_atomically(runner, ckpt_filename, save_optimizer=self.save_optimizer,
                              save_param_scheduler=self.save_param_scheduler, meta=meta, by_epoch=self.by_epoch,
                              **self.args)
        if not is_main_process():
            return
        # ... but nothing is deleted until the new file is complete
        replace_atomically(osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        for old_step in outdated:
            old = osp.join(self.out_dir, self.filename_tmpl.format(old_step))
            if old != self.last_ckpt and osp.isfile(old):
                os.remove(old)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """mmengine's, except that the new best is saved atomically *before* the previous one is deleted."""
        if not self.save_best:
            return
        if not isinstance(self.file_backend, LocalBackend):
            return super()._save_best_checkpoint(runner, metrics)
        step = runner.epoch if self.by_epoch else runner.iter
        ckpt_filename = self.filename_tmpl.format(step)
        cur_type = 'epoch' if self.by_epoch else 'iter'
        meta = dict(epoch=runner.epoch, iter=runner.iter)
        if 'auto' in self.key_indicators:
            self._init_rule(self.rules, [list(metrics.keys())[0]])

        best_ckpt_updated = False
        single = len(self.key_indicators) == 1
        for key_indicator, rule in zip(self.key_indicators, self.rules):
            key_score = metrics[key_indicator]
            best_score_key = 'best_score' if single else f'best_score_{key_indicator}'
            runtime_best_ckpt_key = 'best_ckpt' if single else f'best_ckpt_{key_indicator}'
            previous = self.best_ckpt_path if single else self.best_ckpt_path_dict[key_indicator]
            best_score = runner.message_hub.get_info(best_score_key, self.init_value_map[rule])
            if key_score is None or not self.is_better_than[key_indicator](key_score, best_score):
                continue
            best_ckpt_updated = True
            runner.message_hub.update_info(best_score_key, key_score)

            best_ckpt_name = f'best_{key_indicator}_{ckpt_filename}'.replace('/', '_')
            new_path = osp.join(self.out_dir, best_ckpt_name)
            if single:
                self.best_ckpt_path = new_path
            else:
                self.best_ckpt_path_dict[key_indicator] = new_path
            runner.message_hub.update_info(runtime_best_ckpt_key, new_path)  # saved inside the new best
            self._save_atomically(runner, best_ckpt_name, save_optimizer=False, save_param_scheduler=False,
                                  meta=meta, by_epoch=False)
            if previous and previous != new_path and is_main_process() and self._is_own_best(previous) \
                    and osp.isfile(previous):
                os.remove(previous)
                runner.logger.info(f'The previous best checkpoint {previous} is removed')
            runner.logger.info(f'The best checkpoint with {key_score:0.4f} {key_indicator} at {step} {cur_type} '
                               f'is saved to {best_ckpt_name}.')

        # As mmengine: the latest checkpoint again, so that its message hub names the new best.
        if best_ckpt_updated and self.last_ckpt is not None:
            self._save_checkpoint_with_step(runner, step, meta)
