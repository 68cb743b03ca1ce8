#!/usr/bin/env python
"""Convert a released or foreign checkpoint to a vdense backbone-only checkpoint.

    python tools/convert_checkpoint.py SRC DST [--family ScalableViT|Swin|MViT] [--no-hash]

Reads the authors' layouts (ScalableViT `.pth`, Swin `.pth`, MViTv2 `.pyth`), timm's, mmdet's, mmseg's and
mmpretrain's, and vdense's own backbone-only and training checkpoints; the family and variant are detected from the
weights (a training checkpoint's custom arch from its stored config, read as data). Prints what was converted,
dropped and left unmatched. The same conversions run when a config's backbone loads SRC through `init_cfg` directly.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from vdense.engine.cli import one_line_errors  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src')
    parser.add_argument('dst', help='output file; a content-hash suffix is added unless --no-hash')
    parser.add_argument('--family', help='skip detection: ScalableViT, Swin or MViT')
    parser.add_argument('--no-hash', action='store_true', help='write DST exactly, without the hash suffix')
    args = parser.parse_args(argv)
    with one_line_errors():
        convert(args)


def convert(args):
    from vdense.converters.identify import identify_in_checkpoint
    from vdense.converters.publish import save_backbone
    from vdense.engine import CheckpointError, ensure_not_overwriting, read_checkpoint
    ensure_not_overwriting(args.src, args.dst)
    checkpoint = read_checkpoint(args.src)
    try:
        found = identify_in_checkpoint(checkpoint, args.family)
    except ValueError as e:
        raise CheckpointError(f'{args.src}: {e}') from None
    print(found.summary())
    out = save_backbone(found.state, args.dst, dict(family=found.family, arch=json.loads(json.dumps(found.arch)),
                                                    source=osp.abspath(args.src)),
                        with_hash=not args.no_hash)
    print(f'wrote {out}: init_cfg=dict(type="Pretrained", checkpoint="{out}") in a vdense.{found.family} backbone')


if __name__ == '__main__':
    main()
