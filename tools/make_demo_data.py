#!/usr/bin/env python
"""Generate the synthetic demo data sets (deterministic; existing complete splits are kept).

    python tools/make_demo_data.py [--root data/demo]

From the same 4 shape classes on textured backgrounds:
  data/demo/coco/      COCO instances (boxes + polygon masks): {train,val}/, annotations/instances_{train,val}.json
  data/demo/ade/       ADE20K layout: images/{training,validation}/*.jpg, annotations/.../*.png (reduce_zero_label)
  data/demo/imagenet/  ImageNet layout: {train,val}/<class>/*.jpg
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # tools/: cli_args (standard library only)

from cli_args import add_debug_arg, add_repo_to_path, make_parser  # noqa: E402


def main(argv=None):
    parser = make_parser(__doc__)
    parser.add_argument('--root', default='data/demo', help='folder the data sets are written under')
    parser.add_argument('--only', choices=['coco', 'ade', 'imagenet'], help='generate one of the sets only')
    add_debug_arg(parser)
    args = parser.parse_args(argv)  # before the stack is imported: --help and a wrong flag answer at once
    add_repo_to_path()
    from vdense.engine.cli import run_tool
    run_tool(make, args)


def make(args) -> None:
    from vdense.data.demo_shapes import make_demo_ade, make_demo_coco, make_demo_imagenet
    makers = dict(coco=make_demo_coco, ade=make_demo_ade, imagenet=make_demo_imagenet)
    for name, make in makers.items():
        if args.only in (None, name):
            print(f'demo {name} data ready in {make(args.root)}', flush=True)


if __name__ == '__main__':
    main()
