#!/usr/bin/env python
"""Generate the synthetic demo data sets (deterministic; existing complete splits are kept).

    python tools/make_demo_data.py [--root data/demo]

COCO-format instances (boxes + polygon masks) of 4 shape classes: data/demo/coco/{train,val}/,
data/demo/coco/annotations/instances_{train,val}.json.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from vdense.datasets.demo_shapes import make_demo_coco  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--root', default='data/demo')
    args = parser.parse_args(argv)
    out = make_demo_coco(args.root)
    print(f'demo COCO data ready in {out}')


if __name__ == '__main__':
    main()
