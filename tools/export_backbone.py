#!/usr/bin/env python
"""Export the backbone of a vdense training checkpoint (classifier, detector or segmentor) for use anywhere.

    python tools/export_backbone.py work_dirs/imagenet_scalablevit_s/epoch_300.pth scalablevit_s_in1k.pth

Writes `{'state_dict': backbone weights without prefix, 'meta': {family, arch, source, ...}}` as
`NAME-<sha256[:8]>.pth` (optimizer state and heads dropped); load it with
`init_cfg=dict(type='Pretrained', checkpoint=...)` in any vdense backbone, from any OpenMMLab project.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from vdense.engine.cli import one_line_errors  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint')
    parser.add_argument('out')
    parser.add_argument('--no-hash', action='store_true', help='write OUT exactly, without the hash suffix')
    args = parser.parse_args(argv)
    with one_line_errors():
        export(args)


def export(args):
    from vdense.converters import unwrap_state_dict
    from vdense.converters.identify import identify_in_checkpoint
    from vdense.converters.publish import save_backbone
    from vdense.engine import CheckpointError, ensure_not_overwriting, read_checkpoint
    ensure_not_overwriting(args.checkpoint, args.out)
    checkpoint = read_checkpoint(args.checkpoint)
    try:
        state = unwrap_state_dict(checkpoint)
    except ValueError as e:
        raise CheckpointError(f'{args.checkpoint}: {e}') from None
    if not any(k.startswith('backbone.') for k in state):
        raise CheckpointError(f'{args.checkpoint} has no `backbone.` weights: not a vdense/mm* model checkpoint '
                              '(for released backbones use tools/convert_checkpoint.py)')
    try:
        found = identify_in_checkpoint(checkpoint)
    except ValueError as e:
        raise CheckpointError(f'{args.checkpoint}: {e}') from None
    meta = checkpoint.get('meta') if isinstance(checkpoint.get('meta'), dict) else {}
    print(found.summary())
    # Plain types only (a ConfigDict arch would make the file unloadable under torch's weights_only default).
    out_meta = dict(family=found.family, arch=json.loads(json.dumps(found.arch)), source=osp.abspath(args.checkpoint))
    for key in ('epoch', 'iter'):
        if isinstance(meta.get(key), int):
            out_meta[key] = meta[key]
    out = save_backbone(found.state, args.out, out_meta, with_hash=not args.no_hash)
    print(f'wrote {out}')


if __name__ == '__main__':
    main()
