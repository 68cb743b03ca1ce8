#!/usr/bin/env python
"""Parameters and FLOPs of configs' models, whole model and backbone alone, at the papers' input sizes.

    python tools/get_flops.py configs/mask_rcnn_swin_t.py
    python tools/get_flops.py configs/retinanet_*.py --markdown  # docs/model_zoo.md rows
    python tools/get_flops.py configs/upernet_swin_t.py --shape 512 512

FLOPs are fused multiply-adds (fvcore/mmengine counting, what the papers call FLOPs), attention matmuls included.
Default input sizes follow the papers: 800x1280 for detection, 512x2048 for segmentation (the Swin/ScalableViT
papers' UperNet numbers), 224x224 for classification. No weights are read: the counts depend on shapes only.
Mask heads are counted on 100 RoIs, as mmdet's Mask R-CNN tensor forward does and as at test time (at most 100
detections), for Cascade Mask R-CNN too, whose tensor forward would run its three mask heads on all 1000 proposals.
"""
import logging
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # tools/: cli_args (standard library only)

from cli_args import add_debug_arg, add_repo_to_path, make_parser  # noqa: E402

# torch and the stack are imported inside the functions: --help answers before they are loaded.

DEFAULT_SHAPES = {'mmdet': (800, 1280), 'mmseg': (512, 2048), 'mmpretrain': (224, 224)}


def _det_samples(h: int, w: int):
    from mmdet.structures import DetDataSample
    meta = dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w), batch_input_shape=(h, w),
                scale_factor=(1., 1.))
    return [DetDataSample(metainfo=meta)]


def _tensor_forward(model, scope: str, h: int, w: int):
    """The model's ``mode='tensor'`` forward with everything but the image bound, for the tracer."""
    import torch

    class TensorForward(torch.nn.Module):

        def __init__(self):
            super().__init__()
            self.model = model
            self.samples = _det_samples(h, w) if scope == 'mmdet' else None

        def forward(self, inputs):
            if self.samples is None:
                return self.model(inputs, mode='tensor')
            return self.model(inputs, self.samples, mode='tensor')

    return TensorForward()


MASK_ROIS = 100  # mmdet's StandardRoIHead.forward: mask_rois = rois[:100]


class _MaskHeadsOnTestTimeRoIs:
    """Within the block, a CascadeRoIHead runs each stage's mask head on its first ``MASK_ROIS`` RoIs only.

    The rows beyond are zeros, so the surrounding shapes (per-image splits, mask merging) stay as mmdet has them.
    """

    def __init__(self, model):
        from mmdet.models.roi_heads import CascadeRoIHead
        head = getattr(model, 'roi_head', None)
        self.head = head if isinstance(head, CascadeRoIHead) and head.with_mask else None

    def __enter__(self):
        if self.head is not None:
            full_forward = type(self.head)._mask_forward.__get__(self.head)

            import torch

            def mask_forward_on_first_rois(stage, x, rois):
                results = full_forward(stage, x, rois[:MASK_ROIS])
                preds = results['mask_preds']
                rest = preds.new_zeros((len(rois) - len(preds), ) + preds.shape[1:])
                results['mask_preds'] = torch.cat([preds, rest])
                return results

            self.head._mask_forward = mask_forward_on_first_rois
        return self

    def __exit__(self, *exc):
        if self.head is not None:
            del self.head._mask_forward  # the class's method again


def analyse(path: str, shape=None) -> dict:
    add_repo_to_path()
    import torch
    from mmengine.config import Config

    from vdense.analysis import count_flops, count_params
    from vdense.engine.build import build_model_from_config
    from vdense.engine.cli import ConfigError, check_config_path
    check_config_path(path)
    cfg = Config.fromfile(path)
    scope = cfg.get('default_scope')
    if scope not in DEFAULT_SHAPES:
        raise ConfigError(f'{path}: default_scope {scope!r} is not one of {sorted(DEFAULT_SHAPES)}')
    h, w = shape or DEFAULT_SHAPES[scope]
    model = build_model_from_config(cfg).eval()
    image = torch.randn(1, 3, h, w)
    with _MaskHeadsOnTestTimeRoIs(model):
        flops = count_flops(_tensor_forward(model, scope, h, w), (image,))
    return dict(config=osp.basename(path), scope=scope, shape=f'{h}x{w}',
                params=count_params(model), flops=flops,
                backbone_params=count_params(model.backbone), backbone_flops=count_flops(model.backbone, (image,)))


def main(argv=None):
    parser = make_parser(__doc__)
    parser.add_argument('configs', nargs='+', help='config files')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'), help='input size (default: by task)')
    parser.add_argument('--markdown', action='store_true', help='print a markdown table')
    add_debug_arg(parser)
    args = parser.parse_args(argv)  # before the stack is imported: --help and a wrong flag answer at once
    add_repo_to_path()
    from vdense.engine.cli import run_tool
    run_tool(report, args)


def report(args) -> None:
    from mmengine.logging import MMLogger

    from vdense.engine.cli import check_config_path
    for path in args.configs:
        check_config_path(path)  # all of them before the table starts
    MMLogger.get_current_instance().setLevel(logging.WARNING)  # no per-tensor init report: only the table
    header = ('config', 'input', 'params (M)', 'GFLOPs', 'backbone params (M)', 'backbone GFLOPs')
    if args.markdown:
        print('| ' + ' | '.join(header) + ' |\n|' + '---|' * len(header))
    else:
        print(f'{header[0]:<32} {header[1]:>9} {header[2]:>10} {header[3]:>8} {header[4]:>19} {header[5]:>15}')
    for path in args.configs:
        r = analyse(path, args.shape)
        cells = (r['config'], r['shape'], f"{r['params'] / 1e6:.2f}", f"{r['flops'] / 1e9:.1f}",
                 f"{r['backbone_params'] / 1e6:.2f}", f"{r['backbone_flops'] / 1e9:.2f}")
        if args.markdown:
            print('| ' + ' | '.join(cells) + ' |', flush=True)
        else:
            print(f'{cells[0]:<32} {cells[1]:>9} {cells[2]:>10} {cells[3]:>8} {cells[4]:>19} {cells[5]:>15}',
                  flush=True)


if __name__ == '__main__':
    main()
