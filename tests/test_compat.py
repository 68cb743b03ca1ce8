"""vdense/compat.py: what the stack needs, keyed by the distributions installed."""
import importlib.metadata as metadata
import os.path as osp

from tests.conftest import ROOT


def test_mmseg_base_configs_resolve_where_only_the_onedl_fork_is_installed(monkeypatch):
    # OneDL installs the import package mmseg as the distribution onedl-mmsegmentation: mmengine looked the scope
    # mmseg:: up as 'mmsegmentation' and refused every config inheriting an mmseg:: base.
    from mmengine.config import Config, utils

    from vdense import compat
    real = metadata.distribution

    def onedl_distribution(name):
        if name == 'mmsegmentation':
            raise metadata.PackageNotFoundError(name)
        return real('mmsegmentation' if name == 'onedl-mmsegmentation' else name)

    monkeypatch.setattr(metadata, 'distribution', onedl_distribution)
    monkeypatch.setitem(utils.MODULE2PACKAGE, 'mmseg', 'mmsegmentation')
    compat._resolve_forked_config_scopes()
    assert utils.MODULE2PACKAGE['mmseg'] == 'mmseg' and utils.MODULE2PACKAGE['mmdet'] == 'mmdet'
    monkeypatch.setattr(metadata, 'version', lambda name: onedl_distribution(name).version)
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'demo', 'upernet_scalablevit_demo.py'))
    assert cfg.model.decode_head.type == 'UPerHead'


def test_the_openmmlab_stack_keeps_mmengine_names():
    from mmengine.config import utils

    from vdense import compat
    compat._resolve_forked_config_scopes()
    assert utils.MODULE2PACKAGE['mmseg'] == 'mmsegmentation'
