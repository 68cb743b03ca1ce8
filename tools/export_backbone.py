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

import vdense  # noqa: E402,F401  (weights_only allow-list for mmengine checkpoints)


def _config_backbone(meta: dict):
    """The backbone type/arch recorded in an mmengine checkpoint's config, if any."""
    text = (meta or {}).get('cfg')
    if not text:
        return None
    from mmengine.config import Config
    try:
        backbone = Config.fromstring(text, '.py').model.backbone
    except Exception:  # an unparsable config only costs the arch hint
        return None
    return backbone.get('type', '').split('.')[-1], backbone.get('arch')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint')
    parser.add_argument('out')
    parser.add_argument('--no-hash', action='store_true', help='write OUT exactly, without the hash suffix')
    args = parser.parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'error: {args.checkpoint} not found')

    import torch
    from vdense.converters import strip_backbone_prefix, unwrap_state_dict
    from vdense.converters.identify import identify_backbone
    from vdense.converters.publish import save_backbone
    checkpoint = torch.load(args.checkpoint, map_location='cpu', weights_only=True)
    state = unwrap_state_dict(checkpoint)
    if not any(k.startswith('backbone.') for k in state):
        raise SystemExit(f'error: {args.checkpoint} has no `backbone.` weights: not a vdense/mm* model checkpoint '
                         '(for released backbones use tools/convert_checkpoint.py)')
    hint = _config_backbone(checkpoint.get('meta', {}) if isinstance(checkpoint, dict) else {})
    family, arch = hint if hint else (None, None)
    found = identify_backbone({'state_dict': strip_backbone_prefix(state)}, family, arch)
    print(found.summary())
    # Plain types only (a ConfigDict arch would make the file unloadable under torch's weights_only default).
    meta = dict(family=found.family, arch=json.loads(json.dumps(found.arch)), source=osp.abspath(args.checkpoint))
    for key in ('epoch', 'iter'):
        if isinstance(checkpoint, dict) and key in checkpoint.get('meta', {}):
            meta[key] = checkpoint['meta'][key]
    out = save_backbone(found.state, args.out, meta, with_hash=not args.no_hash)
    print(f'wrote {out}')


if __name__ == '__main__':
    main()
