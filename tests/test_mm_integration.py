"""vdense from the outside: registry scope, plain mmdet configs, compat fixes."""
import torch
from mmengine.config import Config


def test_plain_mmdet_config_builds_vdense_backbone(tmp_path):
    # Written as an MMDetection user would: mmdet's own base config, vdense only through custom_imports.
    cfg_file = tmp_path / 'retinanet_user.py'
    cfg_file.write_text(
        "_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'\n"
        "custom_imports = dict(imports=['vdense.models'], allow_failed_imports=False)\n"
        "model = dict(backbone=dict(_delete_=True, type='vdense.ScalableViT', arch='s', out_indices=(1, 2, 3)),\n"
        "             neck=dict(in_channels=[128, 256, 512], start_level=0))\n")
    cfg = Config.fromfile(str(cfg_file))
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    import importlib
    register_all_modules()
    importlib.import_module(cfg.custom_imports['imports'][0])
    model = MODELS.build(cfg.model)
    from vdense.models import ScalableViT
    assert isinstance(model.backbone, ScalableViT)
    feats = model.extract_feat(torch.randn(1, 3, 96, 128))
    assert [f.shape[1] for f in feats] == [256] * 5


def test_registry_is_a_child_of_mmengine():
    from mmengine.registry import MODELS as ROOT
    from vdense.registry import MODELS
    assert MODELS.parent is ROOT and MODELS.scope == 'vdense'
    import vdense.models  # noqa: F401
    assert ROOT.build(dict(type='vdense.ScalableViT', arch='s')).num_features == [64, 128, 256, 512]


def test_mmengine_checkpoints_load_under_weights_only(tmp_path):
    """mmengine stores HistoryBuffer and numpy objects in its checkpoints; torch's weights_only default must
    accept them once vdense is imported (that is what --resume and load_from do)."""
    import numpy as np
    import vdense  # noqa: F401
    from mmengine.logging.history_buffer import HistoryBuffer
    buf = HistoryBuffer()
    buf.update(np.float64(1.5))
    ckpt = dict(meta=dict(seed=np.int64(3), message_hub=dict(log_scalars={'loss': buf})),
                state_dict={'w': torch.ones(2)})
    torch.save(ckpt, tmp_path / 'c.pth')
    loaded = torch.load(tmp_path / 'c.pth')  # no weights_only=False: the default must work
    assert loaded['meta']['message_hub']['log_scalars']['loss'].mean() == 1.5


class _SneakyGetattr:
    """Pickles as getattr(HistoryBuffer, '__init__'): a step towards arbitrary objects a checkpoint must not take."""

    def __reduce__(self):
        from mmengine.logging.history_buffer import HistoryBuffer
        return getattr, (HistoryBuffer, '__init__')


def test_weights_only_still_refuses_other_getattr(tmp_path):
    import pickle

    import pytest
    import vdense  # noqa: F401
    torch.save({'x': _SneakyGetattr()}, tmp_path / 'evil.pth')
    with pytest.raises(pickle.UnpicklingError, match='not allowed'):
        torch.load(tmp_path / 'evil.pth')
