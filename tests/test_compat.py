"""vdense/compat.py: what the stack needs, keyed by the distributions installed."""
import importlib.metadata as metadata


def test_mmseg_scope_resolves_through_the_import_package_where_only_the_onedl_fork_is_installed(monkeypatch):
    # OneDL installs the import package mmseg as the distribution onedl-mmsegmentation: mmengine looked the scope
    # mmseg:: up as 'mmsegmentation' and refused every config inheriting an mmseg:: base ("mmsegmentation is not
    # installed"). Checked on OneDL itself by loading configs/demo/upernet_scalablevit_demo.py in its venv; here the
    # installed distributions are simulated (mmengine 0.10.7 finds packages through pkg_resources, not patchable
    # the same way), so the mapping is what is asserted.
    from mmengine.config import utils

    from vdense import compat
    real = metadata.distribution

    def onedl_distribution(name):
        if name in ('mmsegmentation', 'mmpretrain'):
            raise metadata.PackageNotFoundError(name)
        return real({'onedl-mmsegmentation': 'mmsegmentation', 'onedl-mmpretrain': 'mmpretrain'}.get(name, name))

    monkeypatch.setattr(metadata, 'distribution', onedl_distribution)
    monkeypatch.setitem(utils.MODULE2PACKAGE, 'mmseg', 'mmsegmentation')
    monkeypatch.setitem(utils.MODULE2PACKAGE, 'mmpretrain', 'mmpretrain')
    compat._resolve_forked_config_scopes()
    assert utils.MODULE2PACKAGE['mmseg'] == 'mmseg' and utils.MODULE2PACKAGE['mmpretrain'] == 'mmpretrain'
    assert utils.MODULE2PACKAGE['mmdet'] == 'mmdet'  # an installed distribution keeps mmengine's name
    assert utils.MODULE2PACKAGE['mmocr'] == 'mmocr'  # neither installed: left alone


def test_the_openmmlab_stack_keeps_mmengine_names():
    from mmengine.config import utils

    from vdense import compat
    compat._resolve_forked_config_scopes()
    assert utils.MODULE2PACKAGE['mmseg'] == 'mmsegmentation'
