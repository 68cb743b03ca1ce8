"""``.safetensors`` checkpoints: written by tools/export_backbone.py and tools/convert_checkpoint.py on request
(``--format safetensors``, meta in the header), read by every vdense reader (init_cfg, convert, load_from through
tools/test.py) with the same content-hash and coverage checks; damaged or edited files refused in one line."""
import hashlib
import json
import os.path as osp
import struct

import cv2
import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from tests.conftest import ROOT
from tests.helpers import data_root_options, run_in_process, run_tool
from vdense.converters.publish import publish_backbone
from vdense.engine import read_checkpoint
from vdense.engine.checkpoint_reader import CheckpointError
from vdense.models import ScalableViT

CLASSIFIER = osp.join(ROOT, 'configs', 'demo', 'imagenet_scalablevit_demo.py')


def _header(path):
    data = open(path, 'rb').read()
    n = struct.unpack('<Q', data[:8])[0]
    return json.loads(data[8:8 + n]), data


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """The demo classifier after one iteration of tools/train.py on a few generated images (ImageNet layout)."""
    base = tmp_path_factory.mktemp('safetensors')
    rng = np.random.RandomState(0)
    for split in ('train', 'val'):
        for cls in ('circle', 'square', 'star', 'triangle'):
            (base / 'data' / split / cls).mkdir(parents=True)
            for i in range(2):
                cv2.imwrite(str(base / 'data' / split / cls / f'{i}.jpg'), rng.randint(0, 255, (64, 64, 3),
                                                                                      dtype=np.uint8))
    options = data_root_options(base / 'data') + ['train_dataloader.batch_size=8', 'train_cfg.max_epochs=1',
                                                  'default_hooks.checkpoint.interval=1']
    run_tool('train.py', CLASSIFIER, '--work-dir', base / 'work', '--cfg-options', *options)
    return base, base / 'work' / 'epoch_1.pth', options


def test_round_trip_export_init_cfg_convert_and_test(trained, tmp_path):
    base, checkpoint, options = trained
    source = read_checkpoint(str(checkpoint))
    backbone = {k[len('backbone.'):]: v for k, v in source['state_dict'].items() if k.startswith('backbone.')}

    # export: NAME-<sha256[:8]>.safetensors, the tensors and a header of strings (no pickle anywhere)
    proc = run_tool('export_backbone.py', checkpoint, tmp_path / 'backbone', '--format', 'safetensors')
    out, = tmp_path.glob('backbone-*.safetensors')
    assert osp.basename(out) == f'backbone-{hashlib.sha256(out.read_bytes()).hexdigest()[:8]}.safetensors'
    assert str(out) in proc.stdout and 'all keys matched' in proc.stdout
    header, data = _header(out)
    assert b'\x80' not in data[:2] and not data.startswith(b'PK')
    meta = header['__metadata__']
    assert all(isinstance(v, str) for v in meta.values())
    assert meta['family'] == 'ScalableViT' and meta['epoch'] == '1' and meta['format'] == 'pt'

    # read back: the same tensors, the meta with its types (a dict arch, an int epoch)
    read = read_checkpoint(str(out))
    assert read['meta']['epoch'] == 1
    arch = read['meta']['arch']
    assert isinstance(arch, dict) and arch['embed_dims'] == [32, 64, 128, 256]
    assert set(read['state_dict']) == set(backbone)
    for k, v in backbone.items():
        assert torch.equal(read['state_dict'][k], v), k

    # init_cfg: a backbone loads it as it loads a .pth (same coverage check)
    model = ScalableViT(arch, init_cfg=dict(type='Pretrained', checkpoint=str(out)))
    model.init_weights()
    for k, v in backbone.items():
        assert torch.equal(model.state_dict()[k], v), k

    # convert reads it (family and arch from the header), and the default output stays .pth (tools/convert_checkpoint.py
    # is this call; the tool itself reads a .safetensors in the tests below)
    _, again = publish_backbone(str(out), str(tmp_path / 'again.pth'))
    assert again.endswith('.pth')
    converted = torch.load(again, weights_only=True)
    assert converted['meta']['arch'] == arch
    for k, v in backbone.items():
        assert torch.equal(converted['state_dict'][k], v), k

    # load_from / tools/test.py: a whole model saved as safetensors (as the HF hub and timm ship them) evaluates
    # exactly as the .pth it came from
    whole = tmp_path / 'classifier.safetensors'
    save_file({k: v.contiguous() for k, v in source['state_dict'].items()}, str(whole))
    results = []
    for ckpt in (checkpoint, whole):
        proc = run_tool('test.py', CLASSIFIER, ckpt, '--work-dir', tmp_path / f'test_{osp.basename(ckpt)}',
                        '--cfg-options', *options)
        results.append([line.split('accuracy/top1:')[1].split()[0] for line in (proc.stdout + proc.stderr)
                        .splitlines() if 'accuracy/top1:' in line])
    assert results[0] and results[1] == results[0]


def _export(tmp_path, with_hash=True):
    arch = dict(embed_dims=[8, 16, 32, 64], depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8], c_ratios=[1.25, 1.25, 1.25, 1])
    src = tmp_path / 'src.pth'
    torch.save({'state_dict': ScalableViT(arch).state_dict(), 'meta': {'family': 'ScalableViT', 'arch': arch}}, src)
    _, out = publish_backbone(str(src), str(tmp_path / 'published'), with_hash=with_hash, fmt='safetensors')
    return tmp_path / osp.basename(out)


def _one_line_error(capsys, *args):
    """tools/convert_checkpoint.py's main() in this process (the stack imported once): exit 2, one line."""
    code, _, err = run_in_process(capsys, 'convert_checkpoint', *args)
    assert code == 2 and 'Traceback' not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_edited_or_damaged_safetensors_refused_in_one_line(tmp_path, capsys):
    out = _export(tmp_path)
    # An edit of the header that keeps it valid (same length): the hash in the name catches it.
    data = out.read_bytes()
    assert data.count(b'ScalableViT') == 1
    out.write_bytes(data.replace(b'ScalableViT', b'ScalableVIT'))
    assert 'content hash' in _one_line_error(capsys, out, tmp_path / 'x.pth')

    # Without a hash in the name: a header whose offsets run past the file is refused by the format's checks.
    header, data = _header(out)
    first = next(k for k in header if k != '__metadata__')
    header[first]['data_offsets'][1] += 4096
    text = json.dumps(header).encode()
    broken = tmp_path / 'broken.safetensors'
    broken.write_bytes(struct.pack('<Q', len(text)) + text + data[8 + struct.unpack('<Q', data[:8])[0]:])
    with pytest.raises(CheckpointError, match='broken.safetensors: not a valid safetensors file'):
        publish_backbone(str(broken), str(tmp_path / 'y.pth'))
    with pytest.raises(CheckpointError, match='broken.safetensors: not a valid safetensors file'):
        ScalableViT(init_cfg=dict(type='Pretrained', checkpoint=str(broken))).init_weights()

    # Truncated: the same line, nothing loaded.
    cut = tmp_path / 'cut.safetensors'
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='cut.safetensors: not a valid safetensors file'):
        read_checkpoint(str(cut))


def test_header_meta_types_and_format_choice(tmp_path, capsys):
    out = _export(tmp_path, with_hash=False)
    assert osp.basename(out) == 'published.safetensors'
    # A safetensors file under another name is still read as one (by its content, not by the torch.load path).
    renamed = tmp_path / 'published.bin'
    renamed.write_bytes(out.read_bytes())
    assert torch.equal(read_checkpoint(str(renamed))['state_dict']['norm3.weight'],
                       read_checkpoint(str(out))['state_dict']['norm3.weight'])
    # A header entry listed as JSON that is not: an edited header, one line.
    header, data = _header(out)
    header['__metadata__']['json_keys'] += ',family'
    text = json.dumps(header).encode()
    edited = tmp_path / 'edited.safetensors'
    edited.write_bytes(struct.pack('<Q', len(text)) + text + data[8 + struct.unpack('<Q', data[:8])[0]:])
    with pytest.raises(CheckpointError, match="header metadata 'family' is listed as JSON"):
        read_checkpoint(str(edited))
    # --format that contradicts the output's suffix: one line, before anything is read.
    assert '--format safetensors writes a .safetensors file' in _one_line_error(capsys, out, tmp_path / 'z.pth',
                                                                                 '--format', 'safetensors')
