"""mmengine's CheckpointHook, made safe against a kill at any instant.

mmengine 0.10.7 deletes the oldest checkpoint *before* writing the new one, writes in place, and then points
``last_checkpoint`` at the new name: a run killed while saving with ``max_keep_ckpts=1`` keeps no checkpoint at all
and ``--resume`` follows ``last_checkpoint`` to a missing or half-written file. Here each checkpoint is written to a
temporary name, flushed to disk and renamed (atomic on POSIX), ``last_checkpoint`` is replaced the same way after
it, and outdated checkpoints are deleted last. Same arguments and file names as mmengine's hook.
"""
import os
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import CheckpointHook

from vdense.registry import HOOKS


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_atomically(path: str, text: str) -> None:
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """:class:`mmengine.hooks.CheckpointHook` whose last good checkpoint survives a kill during a save."""

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

        runner.save_checkpoint(self.out_dir, ckpt_filename + '.tmp', self.file_client_args,
                               save_optimizer=self.save_optimizer, save_param_scheduler=self.save_param_scheduler,
                               meta=meta, by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        tmp = self.last_ckpt + '.tmp'
        if osp.isfile(tmp):
            _fsync(tmp)
        os.replace(tmp, self.last_ckpt)  # ... but nothing is deleted until the new file is complete
        replace_atomically(osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        for old_step in outdated:
            old = osp.join(self.out_dir, self.filename_tmpl.format(old_step))
            if old != self.last_ckpt and osp.isfile(old):
                os.remove(old)
