#!/usr/bin/env python
"""Convert a released, foreign or vdense checkpoint to a vdense backbone-only checkpoint.

    python tools/convert_checkpoint.py SRC DST [--family ScalableViT|Swin|MViT] [--no-hash] [--format safetensors]

Reads the authors' layouts (ScalableViT `.pth`, Swin `.pth`, MViTv2 `.pyth`), timm's, mmdet's, mmseg's and
mmpretrain's, and vdense's own backbone-only and training checkpoints; the family and variant are detected from the
weights (a training checkpoint's custom arch from its stored config, read as data). Prints what was converted,
dropped and left unmatched. The same conversions run when a config's backbone loads SRC through `init_cfg` directly.
tools/export_backbone.py is the same flow under the name OpenMMLab users look for.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # tools/: cli_args (standard library only)

from cli_args import add_debug_arg, add_repo_to_path, make_parser  # noqa: E402


def parse_args(argv=None, description=None, doc=None):
    parser = make_parser(doc or __doc__, description)
    parser.add_argument('src', help='checkpoint to read')
    parser.add_argument('dst', help='output file; a content-hash suffix is added unless --no-hash')
    parser.add_argument('--family', help='skip detection: ScalableViT, Swin or MViT')
    parser.add_argument('--no-hash', action='store_true', help='write DST exactly, without the hash suffix')
    parser.add_argument('--format', choices=['pth', 'safetensors'], default=None,
                        help='pth (the default; any MM project loads it) or safetensors (no pickle; meta in the '
                             'header as strings); a DST ending in .safetensors selects safetensors')
    add_debug_arg(parser)
    return parser.parse_args(argv)  # before the stack is imported: --help and a wrong flag answer at once


def convert(args) -> None:
    import vdense.models  # noqa: F401  (registers the backbone families that identification tries)
    from vdense.converters.publish import publish_backbone
    found, out = publish_backbone(args.src, args.dst, args.family, with_hash=not args.no_hash, fmt=args.format)
    print(found.summary())
    print(f'wrote {out}: init_cfg=dict(type="Pretrained", checkpoint="{out}") in a vdense.{found.family} backbone')


def main(argv=None):
    args = parse_args(argv)
    add_repo_to_path()
    from vdense.engine.cli import run_tool
    run_tool(convert, args)


if __name__ == '__main__':
    main()
