"""ImageNet classifiers: the released checkpoints (with their own heads) give the authors' logits through
mmpretrain's ImageClassifier built from our configs, and tools/test.py converts them on the fly."""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from tests.conftest import ROOT
from tests.reference.scalable_vit_reference import RefScalableViT
from vdense.converters import to_image_classifier

TINY = dict(embed_dims=[32, 64, 128, 256], depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8],
            c_ratios=[1.25, 1.25, 1.25, 1])


def _classifier(config, head_in_channels=None, **backbone):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', config))
    cfg.model.backbone.update(backbone, drop_path_rate=0.)
    if head_in_channels:
        cfg.model.head.in_channels = head_in_channels
    cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    init_default_scope('mmpretrain')
    from mmpretrain.registry import MODELS

    import vdense.models  # noqa: F401
    return cfg, MODELS.build(cfg.model).eval()


def _randomize(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.05)


def test_scalable_vit_released_classifier_gives_the_authors_logits():
    ref = RefScalableViT(**TINY).eval()
    _randomize(ref)
    cfg, model = _classifier('imagenet_scalablevit_s.py', head_in_channels=256, arch=TINY)
    state = to_image_classifier({'model': ref.state_dict()}, cfg.model.backbone)
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and not missing
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        _, ref_logits = ref(x)
        logits = model(x, mode='tensor')
    torch.testing.assert_close(logits, ref_logits, rtol=1e-4, atol=1e-4)


def test_swin_classifier_gives_timms_logits_on_the_same_weights():
    import timm
    ref = timm.create_model('swin_tiny_patch4_window7_224', pretrained=False).eval()
    _randomize(ref)
    cfg, model = _classifier('imagenet_swin_t.py')
    state = to_image_classifier(ref.state_dict(), cfg.model.backbone)
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and not [k for k in missing if 'relative_position_index' not in k]
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(model(x, mode='tensor'), ref(x), rtol=1e-4, atol=1e-4)


def test_mvit_classifier_gives_timms_logits_on_the_same_weights():
    import timm
    ref = timm.create_model('mvitv2_tiny', pretrained=False).eval()
    _randomize(ref)
    cfg, model = _classifier('imagenet_mvitv2_t.py')
    state = to_image_classifier(ref.state_dict(), cfg.model.backbone)
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and not missing
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(model(x, mode='tensor'), ref(x), rtol=1e-4, atol=1e-4)
