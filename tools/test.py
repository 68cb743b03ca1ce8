#!/usr/bin/env python
"""Evaluate a checkpoint: box/mask mAP (mmdet), mIoU (mmseg) or top-1/top-5 (mmpretrain), by the config's scope.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl] [--show-dir vis]
                         [--cfg-options key=value ...] [--debug]

The last lines give the metrics and the real paths written: the drawings' folder (mmdet: under
WORK_DIR/<timestamp>/), the --out file and the log.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # tools/: cli_args (standard library only)

from cli_args import add_common_args, add_repo_to_path, make_parser  # noqa: E402


def parse_args(argv=None):
    parser = make_parser(__doc__, 'Test (and evaluate) a vdense model')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump the raw predictions to this pickle file (.pkl or .pickle)')
    parser.add_argument('--show-dir', help='draw predictions into this folder, relative to the work dir (mmdet: '
                                           'under WORK_DIR/<timestamp>/); the last lines say where')
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)  # before the stack is imported: --help and a wrong flag answer at once
    add_repo_to_path()
    from vdense.engine.cli import run_tool
    run_tool(test, args)


def test(args):
    from vdense.engine.cli import ConfigError, build_runner, enable_visualization, load_config, preflight
    cfg = load_config(args)
    if not osp.isfile(args.checkpoint):
        from vdense.engine import CheckpointError
        raise CheckpointError(f'{args.checkpoint}: checkpoint not found')
    if args.out and not args.out.endswith(('.pkl', '.pickle')):
        raise ConfigError(f'--out {args.out}: must end with .pkl or .pickle')
    cfg.load_from = args.checkpoint
    if cfg.get('default_scope') == 'mmpretrain':
        # An authors' released classifier is evaluated with its own head: converted once, next to the work dir.
        from vdense.converters.classifier import released_classifier_file
        cfg.load_from = released_classifier_file(args.checkpoint, cfg.model.backbone, cfg.work_dir)
    from vdense.engine import MIN_COVERAGE_TEST, check_coverage, read_checkpoint
    checkpoint = read_checkpoint(cfg.load_from, mmap=True)  # a bad file fails here, before anything is built
    # The trained checkpoint holds every weight: the backbone's pretrained file is not needed.
    preflight(cfg, ('test_dataloader',), check_weights=False)
    drawings = enable_visualization(cfg, args.show_dir) if args.show_dir else None

    runner = build_runner(cfg, args.debug)
    # mmengine loads non-strictly: another model's checkpoint would be evaluated as a randomly initialised model.
    check_coverage(runner.model, checkpoint, args.checkpoint, MIN_COVERAGE_TEST, 'a test')
    del checkpoint
    if args.out:
        from mmengine.evaluator import DumpResults
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    metrics = runner.test()
    _report(runner, args, metrics, drawings)


def _report(runner, args, metrics, drawings) -> None:
    """The last lines: the metrics, then every path written, as they really are (timestamped folders included)."""
    from mmengine.dist import is_main_process

    from vdense.engine.cli import log_file_of, metrics_line, shown_path
    if not is_main_process():
        return
    print(f'vdense: {shown_path(args.checkpoint)}: {metrics_line(metrics)}', flush=True)
    if args.out:
        print(f'vdense: predictions in {shown_path(args.out)}', flush=True)
    print(f'vdense: log in {log_file_of(runner)}', flush=True)
    if drawings is not None:
        print(f'vdense: drawings in {shown_path(drawings(runner))}', flush=True)


if __name__ == '__main__':
    main()
