"""Imported by a training run under test (``custom_imports``): SIGKILLs the process half-way through writing the
checkpoint file named by ``VDENSE_TEST_KILL_DURING`` (e.g. ``epoch_2.pth``), as a power cut or OOM killer would."""
import os
import signal

from mmengine.fileio.backends import LocalBackend

_put = LocalBackend.put


def _put_then_die(self, obj, filepath):
    target = os.environ.get('VDENSE_TEST_KILL_DURING')
    name = os.path.basename(str(filepath))
    if target and name.startswith(target):
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
            f.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    return _put(self, obj, filepath)


LocalBackend.put = _put_then_die
