"""The generated demo sets: every shape visible, sets of an older generator written again."""
import glob
import os.path as osp

import numpy as np
import pytest

from vdense.data.demo_shapes import GENERATOR_VERSION, _visible_colour, make_demo_imagenet


@pytest.mark.parametrize('grey', [0, 64, 120, 128, 136, 192, 255])
def test_shape_colour_stands_out_from_any_background(grey):
    rng = np.random.default_rng(0)
    background = np.full(3, grey, np.uint8)
    for _ in range(200):
        colour = _visible_colour(rng, background)
        assert colour.min() >= 0 and colour.max() <= 255
        assert np.abs(colour - grey).mean() >= 60, f'fill {colour} hides on background {grey}'


def test_sets_written_by_another_generator_version_are_written_again(tmp_path):
    root = str(tmp_path)
    out = make_demo_imagenet(root, splits={'train': (2, 0)})
    image = sorted(glob.glob(osp.join(out, 'train', '*', '*.jpg')))[0]
    original = open(image, 'rb').read()
    stamp = osp.join(out, 'GENERATOR_VERSION')
    assert open(stamp).read().strip() == GENERATOR_VERSION

    with open(image, 'wb') as f:
        f.write(b'edited')
    make_demo_imagenet(root, splits={'train': (2, 0)})
    assert open(image, 'rb').read() == b'edited', 'a complete set of this version is kept as it is'

    with open(stamp, 'w') as f:
        f.write('1\n')
    make_demo_imagenet(root, splits={'train': (2, 0)})
    assert open(image, 'rb').read() == original
    assert open(stamp).read().strip() == GENERATOR_VERSION
