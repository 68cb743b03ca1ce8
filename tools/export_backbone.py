#!/usr/bin/env python
"""Export the backbone of a checkpoint (a vdense/mm* classifier, detector or segmentor training checkpoint, or any
layout tools/convert_checkpoint.py reads) for use anywhere.

    python tools/export_backbone.py work_dirs/imagenet_scalablevit_s/epoch_300.pth scalablevit_s_in1k.pth [--no-hash]

Writes `{'state_dict': backbone weights without prefix, 'meta': {family, arch, source, epoch, iter}}` as
`NAME-<sha256[:8]>.pth` (optimizer state and heads dropped); load it with
`init_cfg=dict(type='Pretrained', checkpoint=...)` in any vdense backbone, from any OpenMMLab project.
`--format safetensors` writes `NAME-<sha256[:8]>.safetensors` instead (no pickle; the meta as strings in the header).
Same flow as tools/convert_checkpoint.py.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # tools/: the shared flow lives in convert_checkpoint.py

from cli_args import add_repo_to_path  # noqa: E402
from convert_checkpoint import convert, parse_args  # noqa: E402


def main(argv=None):
    args = parse_args(argv, doc=__doc__)  # before the stack is imported: --help answers at once
    add_repo_to_path()
    from vdense.engine.cli import run_tool
    run_tool(convert, args)


if __name__ == '__main__':
    main()
