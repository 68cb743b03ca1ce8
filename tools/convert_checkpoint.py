#!/usr/bin/env python
"""Convert a released or foreign checkpoint to a vdense backbone-only checkpoint.

    python tools/convert_checkpoint.py SRC DST [--family ScalableViT|Swin|MViT] [--no-hash]

Reads the authors' layouts (ScalableViT `.pth`, Swin `.pth`, MViTv2 `.pyth`) and timm's, mmdet's, mmseg's and
mmpretrain's; the family and variant are detected from the weights. Prints what was converted, dropped and left
unmatched. The same conversions run when a config's backbone loads SRC through `init_cfg` directly.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import vdense  # noqa: E402,F401  (weights_only allow-list for mmengine checkpoints)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src')
    parser.add_argument('dst', help='output file; a content-hash suffix is added unless --no-hash')
    parser.add_argument('--family', help='skip detection: ScalableViT, Swin or MViT')
    parser.add_argument('--no-hash', action='store_true', help='write DST exactly, without the hash suffix')
    args = parser.parse_args(argv)
    if not osp.isfile(args.src):
        raise SystemExit(f'error: {args.src} not found')

    import torch
    from vdense.converters.identify import identify_backbone
    from vdense.converters.publish import save_backbone
    checkpoint = torch.load(args.src, map_location='cpu', weights_only=True)
    try:
        found = identify_backbone(checkpoint, args.family)
    except ValueError as e:
        raise SystemExit(f'error: {args.src}: {e}')
    print(found.summary())
    out = save_backbone(found.state, args.dst, dict(family=found.family, arch=found.arch, source=osp.abspath(args.src)),
                        with_hash=not args.no_hash)
    print(f'wrote {out}: init_cfg=dict(type="Pretrained", checkpoint="{out}") in a vdense.{found.family} backbone')


if __name__ == '__main__':
    main()
