"""A checkpoint is run only as the model it is (#23.4): tools/test.py, infer.py and export_onnx.py refuse a
checkpoint whose tensors the config's model would leave unused (a deeper variant, another head) or whose backbone is
another variant or family, naming both; load_from and init_cfg refuse another family and list unused weights.
The checkpoints are made by our tools: tools/train.py (one iteration of the Swin Semantic FPN demo, and of the same
with depths 2-2-6-2) and tools/convert_checkpoint.py."""
import logging
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from tests.conftest import ROOT
from tests.helpers import data_root_options, load_tool, run_in_process, run_tool
from vdense.data.demo_shapes import make_demo_ade

SEG = osp.join(ROOT, 'configs', 'demo', 'semantic_fpn_swin_demo.py')
DEEPER = 'model.backbone.arch.depths=[2,2,6,2]'
ONE_ITER = ['train_cfg.max_iters=1', 'default_hooks.checkpoint.interval=1', 'train_dataloader.batch_size=2',
            'val_dataloader.batch_size=2']


@pytest.fixture(scope='module')
def ade(tmp_path_factory):
    return make_demo_ade(str(tmp_path_factory.mktemp('ade')), splits={'training': (2, 0), 'validation': (2, 1)})


@pytest.fixture(scope='module')
def deeper(tmp_path_factory, ade):
    """A tools/train.py checkpoint of the Swin demo segmentor with depths 2-2-6-2 (the config builds 2-2-2-2)."""
    work = tmp_path_factory.mktemp('deeper')
    run_tool('train.py', SEG, '--work-dir', work, '--cfg-options', *data_root_options(ade), *ONE_ITER, DEEPER)
    return work / 'iter_1.pth'


class _Records(logging.Handler):
    """The records mmengine's current logger emits (it does not propagate to the root logger caplog reads)."""

    def __enter__(self):
        from mmengine.logging import MMLogger
        self.messages, self.logger = [], MMLogger.get_current_instance()
        self.logger.addHandler(self)
        return self.messages

    def __exit__(self, *exc):
        self.logger.removeHandler(self)

    def emit(self, record):
        if record.levelno >= logging.WARNING:
            self.messages.append(record.getMessage())


def _one_line(code, err, *fragments):
    assert code == 2, err[-3000:]
    assert 'Traceback' not in err
    lines = [line for line in err.splitlines() if line.startswith('error:')]
    assert len(lines) == 1, err[-3000:]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_deeper_variant_is_refused_by_test_infer_and_export(deeper, ade, tmp_path, capsys):
    # It fills every tensor of the 2-2-2-2 model: before, each tool ran a truncated network without a word.
    what = ('backbone weights are a Swin with a custom arch (depths 2-2-6-2, embed_dims 32)',
            'the config builds a Swin with a custom arch (depths 2-2-2-2, embed_dims 32)',
            'backbone.stages.2.blocks.2-5')
    _one_line(*run_in_process(capsys, 'test', SEG, deeper, '--work-dir', tmp_path / 'w', '--cfg-options',
                    *data_root_options(ade))[::2], *what)
    image = osp.join(ade, 'images', 'validation', 'validation_00000.jpg')
    _one_line(*run_in_process(capsys, 'infer', SEG, deeper, image, '--out-dir', tmp_path / 'o')[::2], *what)
    _one_line(*run_in_process(capsys, 'export_onnx', SEG, deeper, tmp_path / 'x.onnx')[::2], *what)
    assert not (tmp_path / 'o' / 'results.json').exists() and not (tmp_path / 'x.onnx').exists()


def test_the_matching_config_runs_and_another_head_is_refused(deeper, ade, tmp_path, capsys):
    code, out, err = run_in_process(capsys, 'test', SEG, deeper, '--work-dir', tmp_path / 'w', '--cfg-options',
                          *data_root_options(ade), DEEPER)
    assert code == 0, err[-3000:]
    # Another number of classes: 2 of its 216 tensors differ, mmengine would load the rest and test a random head.
    line = _one_line(*run_in_process(capsys, 'test', SEG, deeper, '--work-dir', tmp_path / 'w', '--cfg-options',
                           *data_root_options(ade), DEEPER, 'model.decode_head.num_classes=6')[::2],
                     '2 have another shape (decode_head.conv_seg)')
    assert 'backbone' not in line  # the backbone is the config's: nothing to say about it


def test_load_from_lists_unused_weights_and_refuses_another_family(deeper):
    from vdense.engine import MIN_COVERAGE_INIT, CheckpointError, check_coverage, read_checkpoint
    from vdense.engine.build import build_model_from_config
    checkpoint = read_checkpoint(str(deeper))
    swin = build_model_from_config(Config.fromfile(SEG))
    with _Records() as messages:
        check_coverage(swin, checkpoint, str(deeper), MIN_COVERAGE_INIT, 'load_from')
    warning, = [m for m in messages if 'load_from' in m]
    assert '52 of its 216 tensors have no place in it (backbone.stages.2.blocks.2-5)' in warning
    # The Swin file fills 67 % of the ScalableViT segmentor through shared key names (neck, head, qkv, norms):
    # above the 50 % load_from needs, it used to start the training from it.
    scalable = build_model_from_config(Config.fromfile(SEG.replace('swin', 'scalablevit')))
    with pytest.raises(CheckpointError, match=r'its backbone weights are a Swin with a custom arch \(depths 2-2-6-2.*'
                                              r'the config builds a ScalableViT with a custom arch'):
        check_coverage(scalable, checkpoint, str(deeper), MIN_COVERAGE_INIT, 'load_from')


def test_init_cfg_refuses_another_family_and_lists_unused_weights(tmp_path):
    # Randomly initialised released-size backbones, converted by tools/convert_checkpoint.py.
    from vdense.engine import CheckpointError
    from vdense.models import MViT, Swin
    torch.manual_seed(0)
    for name, model in (('mvit_t', MViT('t')), ('swin_s', Swin('s'))):
        torch.save({'state_dict': model.state_dict()}, tmp_path / f'{name}_src.pth')
        load_tool('convert_checkpoint').main([str(tmp_path / f'{name}_src.pth'), str(tmp_path / f'{name}.pth'),
                                              '--no-hash'])
    # MViTv2-T fills 120 of Swin-T's 177 tensors by name and shape: it used to load with one INFO line.
    with pytest.raises(CheckpointError, match=r'mvit_t.pth: its weights are a MViT-t \(depths 1-2-5-2\) backbone, '
                                              r'the config builds a Swin-t \(depths 2-2-6-2\)'):
        Swin('t', init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'mvit_t.pth'))).init_weights()
    # Swin-S on Swin-T: same family, it loads, and the 12 blocks left out are said in one warning.
    with _Records() as messages:
        Swin('t', init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'swin_s.pth'))).init_weights()
    warning, = [m for m in messages if 'swin_s.pth' in m]
    assert 'loaded 177/177 tensors' in warning and '156 of its tensors unused (stages.2.blocks.6-17)' in warning


def test_cascade_checkpoint_is_refused_for_mask_rcnn():
    # Cascade Mask R-CNN fills 90.9 % of Mask R-CNN (backbone, neck, RPN): above the 90 % tools/test.py asked, so
    # it was evaluated with random box and mask heads (its own roi_head, all unused). Built on the meta device.
    from vdense.engine import MIN_COVERAGE_TEST, CheckpointError, check_coverage
    from vdense.engine.build import build_model_from_config
    with torch.device('meta'):
        cascade = build_model_from_config(Config.fromfile(osp.join(ROOT, 'configs', 'cascade_mask_rcnn_swin_t.py')),
                                          init_weights=False)
        mask_rcnn = build_model_from_config(Config.fromfile(osp.join(ROOT, 'configs', 'mask_rcnn_swin_t.py')),
                                            init_weights=False)
    checkpoint = {'state_dict': cascade.state_dict(), 'meta': {'cfg': "model = dict(type='CascadeRCNN')\n"}}
    with pytest.raises(CheckpointError, match=r'its stored config builds a CascadeRCNN, this config a MaskRCNN; '
                                              r'it fills 199/219 .* 126 of its 325 tensors have no place in it '
                                              r'\(roi_head\) '):
        check_coverage(mask_rcnn, checkpoint, 'cascade.pth', MIN_COVERAGE_TEST, 'a test')


def test_grouped_key_names_reach_the_terminal_escaped():
    # Key names come from the checkpoint file: an ANSI escape in one must be shown escaped in coverage messages.
    from vdense.engine.coverage import group_keys
    text = group_keys(['\x1b[31mevil.weight', 'ok.weight'], ['\x1b[31mevil.weight', 'ok.weight', 'other.weight'])
    assert '\x1b' not in text and '\\x1b[31mevil' in text
