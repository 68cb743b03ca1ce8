#!/usr/bin/env python
"""The accuracy and CPU latency tables of docs/deploy.md ("Accuracy and latency"), from one command.

    python tools/deploy_report.py --trained-dir WORK_DIRS [--data-root data/demo]   # both tables -> docs/deploy.md
    python tools/deploy_report.py --trained retinanet=CONFIG:CHECKPOINT --trained imagenet=WORK_DIR ...
    python tools/deploy_report.py --trained-dir WORK_DIRS --train-missing           # trains the demos not found
    python tools/deploy_report.py --skip-accuracy --runs 10 --dry-run               # latency only, printed

Accuracy (PyTorch vs onnxruntime, the same val images): each demo-trained model (configs/demo/*_scalablevit_demo.py,
as `make test` trains them; TASK = retinanet, mask_rcnn, semantic_fpn, upernet, imagenet) is exported with
tools/export_onnx.py (its own check included), then every image of the config's test dataloader goes through
PyTorch (``model.test_step``, what tools/test.py runs) and, read from its file, through vdense/deploy/runtime.py
(onnxruntime, the path of ``tools/infer.py MODEL.onnx``: its decoding, resize and box mapping included). Both are
scored by the config's own evaluator (mmdet CocoMetric, mmseg IoUMetric, mmpretrain Accuracy). mAP is shown x100,
so "within 0.1" is 0.1 point for every metric. A work dir (WORK_DIRS/TASK) is read as tools/train.py leaves it: its
config dump (with the data roots it trained on) and last_checkpoint; --data-root points the configs at a
tools/make_demo_data.py folder instead. A model the exporter refuses (one line: not supported) gets its PyTorch value
and "not exportable yet"; a failed export or a difference above 0.1 is marked in the table and the exit code is 1.

Latency (random weights, full-size configs): torch.set_num_threads(--threads) and onnxruntime's
intra_op_num_threads = --threads, one image of --det-size (detectors) or --seg-size (segmentors), --warmup runs,
then the median of --runs, PyTorch and onnxruntime timed in turn in every round (a busy machine's drift weighs on
both). PyTorch eager = ``model.test_step`` (data preprocessing, forward, test_cfg postprocessing, masks pasted);
onnxruntime = the exported graph (graph export as tools/export_onnx.py does it, without its check). mmdet's own
RetinaNet / Mask R-CNN Swin-T configs (mmdet::swin/...) are the reference rows, PyTorch eager. A random-weight
detector keeps nothing above the score threshold, so its postprocessing would cost nothing: every detector's
classification biases are set so that each candidate test_cfg admits passes the threshold (RetinaNet: nms_pre per
level into NMS; two-stage: every proposal scores 3 classes at ~1/3), i.e. NMS at its largest and max_per_img
detections kept (masks for each): the upper bound of a trained model's work; the table shows the count kept.
"""
import os
import os.path as osp
import re
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # tools/: cli_args (standard library only)

from cli_args import ROOT, add_debug_arg, add_repo_to_path, make_parser  # noqa: E402

# The demos `make test` trains (tests/conftest.py): task -> (config, the generated data set it trains on).
DEMOS = {
    'retinanet': ('retinanet_scalablevit_demo.py', 'coco'),
    'mask_rcnn': ('mask_rcnn_scalablevit_demo.py', 'coco'),
    'semantic_fpn': ('semantic_fpn_scalablevit_demo.py', 'ade'),
    'upernet': ('upernet_scalablevit_demo.py', 'ade'),
    'imagenet': ('imagenet_scalablevit_demo.py', 'imagenet'),
}
MMDET_RETINANET = 'mmdet::swin/retinanet_swin-t-p4-w7_fpn_1x_coco.py'
MMDET_MASK_RCNN = 'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py'
LATENCY_MODELS = [
    'configs/retinanet_swin_t.py', 'configs/retinanet_scalablevit_s.py', MMDET_RETINANET,
    'configs/mask_rcnn_swin_t.py', 'configs/mask_rcnn_scalablevit_s.py', MMDET_MASK_RCNN,
    'configs/semantic_fpn_swin_t.py', 'configs/semantic_fpn_scalablevit_s.py',
    'configs/upernet_swin_t.py', 'configs/upernet_scalablevit_s.py',
]
METRICS = {  # the evaluators' keys shown, and how (mAP x100: every tolerance is 0.1 point)
    'coco/bbox_mAP': ('box mAP', 100.), 'coco/segm_mAP': ('mask mAP', 100.), 'mIoU': ('mIoU', 1.),
    'accuracy/top1': ('top-1', 1.),
}
TOLERANCE = 0.1
BEGIN, END = '<!-- deploy-report:begin -->', '<!-- deploy-report:end -->'
SECTION = '## Accuracy and latency'


class ReportError(ValueError):
    """Bad input: one line, exit 2."""


def parse_args(argv=None):
    parser = make_parser(__doc__, 'PyTorch vs onnxruntime: accuracy on the demo val splits, CPU latency')
    parser.add_argument('--trained', action='append', metavar='TASK=CONFIG:CHECKPOINT|TASK=WORK_DIR',
                        help=f'a demo-trained model (repeatable); TASK one of {", ".join(DEMOS)}')
    parser.add_argument('--trained-dir', help='a folder of work dirs named by task (retinanet/, mask_rcnn/, ...), '
                                              'as `make test` leaves them')
    parser.add_argument('--data-root', help='tools/make_demo_data.py\'s folder (coco/, ade/, imagenet/): the val '
                                            'splits read (default: TRAINED_DIR/demo_data where it exists, as '
                                            '`make test` leaves it, else the data roots in the configs)')
    parser.add_argument('--train-missing', action='store_true',
                        help='train the demos not found with tools/train.py into --trained-dir (minutes each, on '
                             'the data of --data-root, generated there if absent)')
    parser.add_argument('--tasks', default=','.join(DEMOS), help='accuracy: the tasks reported, comma-separated')
    parser.add_argument('--val-images', type=int, default=0, help='accuracy: the first N val images only (0: all)')
    parser.add_argument('--latency-models', nargs='+', default=LATENCY_MODELS, metavar='CONFIG',
                        help='latency: configs (random weights), mmdet::... for the library\'s own')
    parser.add_argument('--runs', type=int, default=10, help='latency: timed runs per model (the median is shown)')
    parser.add_argument('--warmup', type=int, default=2, help='latency: untimed runs first')
    parser.add_argument('--threads', type=int, default=2, help='CPU threads of PyTorch and onnxruntime')
    parser.add_argument('--det-size', default='800x1216', help='latency: detector input HxW')
    parser.add_argument('--seg-size', default='512x512', help='latency: segmentor input HxW')
    parser.add_argument('--skip-accuracy', action='store_true', help='keep the accuracy table already written')
    parser.add_argument('--skip-latency', action='store_true', help='keep the latency table already written')
    parser.add_argument('--out', default=osp.join(ROOT, 'docs', 'deploy.md'),
                        help='the markdown file whose section is written (replaced between its markers)')
    parser.add_argument('--dry-run', action='store_true', help='print the section instead of writing it')
    parser.add_argument('--work-dir', help='keep the exported .onnx files here (default: a temporary folder)')
    add_debug_arg(parser)
    return parser.parse_args(argv)


def _size(text, flag):
    m = re.fullmatch(r'(\d+)x(\d+)', text.strip().lower())
    if not m or min(int(m[1]), int(m[2])) < 32:
        raise ReportError(f'{flag} {text}: expected HxW with both sides >= 32, e.g. 800x1216')
    return int(m[1]), int(m[2])


def _work_dir_model(task, work_dir):
    """(config dump, checkpoint) of a tools/train.py work dir."""
    last = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(last):
        raise ReportError(f'{work_dir}: no last_checkpoint (not a finished tools/train.py work dir of {task})')
    with open(last) as f:
        checkpoint = f.read().strip()
    if not osp.isabs(checkpoint):
        checkpoint = osp.join(work_dir, osp.basename(checkpoint))
    config = osp.join(work_dir, DEMOS[task][0])
    if not osp.isfile(config):  # the dump is named after the config trained
        configs = sorted(f for f in os.listdir(work_dir) if f.endswith('.py'))
        if len(configs) != 1:
            raise ReportError(f'{work_dir}: expected its config dump {DEMOS[task][0]}')
        config = osp.join(work_dir, configs[0])
    return config, checkpoint


def trained_models(args):
    """task -> (config, checkpoint) for the accuracy table; the missing ones as a list."""
    tasks = [t.strip() for t in args.tasks.split(',') if t.strip()]
    unknown = [t for t in tasks if t not in DEMOS]
    if unknown or not tasks:
        raise ReportError(f'--tasks {args.tasks}: known tasks are {", ".join(DEMOS)}')
    found = {}
    for spec in args.trained or []:
        task, sep, rest = spec.partition('=')
        if not sep or task not in DEMOS:
            raise ReportError(f'--trained {spec}: expected TASK=CONFIG:CHECKPOINT or TASK=WORK_DIR, TASK one of '
                              f'{", ".join(DEMOS)}')
        if osp.isdir(rest):
            found[task] = _work_dir_model(task, rest)
            continue
        config, sep, checkpoint = rest.partition(':')
        if not sep:
            raise ReportError(f'--trained {spec}: {rest} is neither a work dir nor CONFIG:CHECKPOINT')
        found[task] = (config, checkpoint)
    if args.trained_dir:
        if not osp.isdir(args.trained_dir) and not args.train_missing:
            raise ReportError(f'--trained-dir {args.trained_dir}: no such folder')
        for task in tasks:
            if task not in found and osp.isfile(osp.join(args.trained_dir, task, 'last_checkpoint')):
                found[task] = _work_dir_model(task, osp.join(args.trained_dir, task))
    for task, (config, checkpoint) in found.items():
        for path in (config, checkpoint):
            if not osp.isfile(path):
                raise ReportError(f'{task}: {path} not found')
    missing = [t for t in tasks if t not in found]
    if missing and not args.train_missing:
        raise ReportError(f'no trained model for {", ".join(missing)}: give --trained TASK=..., --trained-dir, '
                          '--train-missing (trains them), or --tasks without them')
    if missing and not args.trained_dir:
        raise ReportError('--train-missing needs --trained-dir (where the work dirs go)')
    return {t: found[t] for t in tasks if t in found}, missing


def check_args(args):
    """Everything checkable before the stack is imported (seconds), in one line each."""
    for flag, value, low in (('--runs', args.runs, 1), ('--warmup', args.warmup, 0), ('--threads', args.threads, 1),
                             ('--val-images', args.val_images, 0)):
        if value < low:
            raise ReportError(f'{flag} {value}: must be >= {low}')
    args.det_hw, args.seg_hw = _size(args.det_size, '--det-size'), _size(args.seg_size, '--seg-size')
    if args.skip_accuracy and args.skip_latency:
        raise ReportError('--skip-accuracy and --skip-latency: nothing to do')
    if not args.data_root and args.trained_dir and osp.isdir(osp.join(args.trained_dir, 'demo_data')):
        args.data_root = osp.join(args.trained_dir, 'demo_data')  # a copied folder still reads its own data
    if args.data_root and not osp.isdir(args.data_root) and not args.train_missing:
        raise ReportError(f'--data-root {args.data_root}: no such folder')
    if not args.skip_latency:
        for name in args.latency_models:
            if '::' not in name and not osp.isfile(name) and not osp.isfile(osp.join(ROOT, name)):
                raise ReportError(f'--latency-models: {name} not found')
    out_dir = osp.dirname(osp.abspath(args.out))
    if not args.dry_run and not osp.isdir(out_dir):
        raise ReportError(f'--out {args.out}: no such directory {out_dir}')
    if osp.isfile(args.out):
        read_section(args.out)  # an unbalanced marker fails now, not after an hour of measuring
    if args.work_dir and not osp.isdir(args.work_dir):
        raise ReportError(f'--work-dir {args.work_dir}: no such folder')
    args.models, args.missing = trained_models(args) if not args.skip_accuracy else ({}, [])


def main(argv=None):
    args = parse_args(argv)
    import shlex
    args.command = 'python tools/deploy_report.py ' + shlex.join(sys.argv[1:] if argv is None else map(str, argv))
    try:
        check_args(args)
    except ReportError as e:
        print(f'error: {e}', file=sys.stderr, flush=True)
        raise SystemExit(2)
    add_repo_to_path()
    from vdense.engine.cli import one_line_errors
    with one_line_errors(args.debug):
        try:
            report(args)
        except (ReportError, FileNotFoundError) as e:
            if args.debug:
                raise
            print(f'error: {e}', file=sys.stderr, flush=True)
            raise SystemExit(2)


# ---------------------------------------------------------------------------------------------------------- docs --
def read_section(path):
    """(text before, the block between the markers or None, text after) of the markdown file."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    begins, ends = text.count(BEGIN), text.count(END)
    if begins == ends == 0:
        return text, None, ''
    if begins != 1 or ends != 1 or text.index(BEGIN) > text.index(END):
        raise ReportError(f'{path}: expected one {BEGIN} ... {END} pair, found {begins} begin and {ends} end '
                          'markers; fix them by hand')
    before, rest = text.split(BEGIN)
    block, after = rest.split(END)
    return before, block, after


def _part(block, name):
    """The accuracy or latency part of a previous block (kept where this run skips it)."""
    if not block:
        return None
    m = re.search(rf'<!-- {name} -->\n(.*?)<!-- /{name} -->\n', block, re.S)
    return m[1] if m else None


def write_section(args, accuracy_md, latency_md):
    old = read_section(args.out) if osp.isfile(args.out) else ('', None, '')
    accuracy_md = accuracy_md or _part(old[1], 'accuracy') or '_Not measured yet._\n'
    latency_md = latency_md or _part(old[1], 'latency') or '_Not measured yet._\n'
    block = (f'\n<!-- written by tools/deploy_report.py: re-running it replaces everything up to the end marker -->\n'
             f'\n### Accuracy: PyTorch vs onnxruntime on the demo val splits\n\n'
             f'<!-- accuracy -->\n{accuracy_md}<!-- /accuracy -->\n'
             f'\n### CPU latency\n\n<!-- latency -->\n{latency_md}<!-- /latency -->\n')
    if old[1] is None:
        before = old[0].rstrip('\n') + '\n\n' if old[0].strip() else ''
        text = f'{before}{SECTION}\n\n{BEGIN}{block}{END}\n'
    else:
        text = f'{old[0]}{BEGIN}{block}{END}{old[2]}'
    if args.dry_run:
        print(f'{SECTION}\n\n{BEGIN}{block}{END}', flush=True)
        return
    import tempfile
    fd, tmp = tempfile.mkstemp(dir=osp.dirname(osp.abspath(args.out)), suffix='.tmp')
    with os.fdopen(fd, 'w', encoding='utf-8') as f:
        f.write(text)
    os.replace(tmp, args.out)
    print(f'vdense: tables written to {args.out} (between {BEGIN} and {END})', flush=True)


def provenance(args, argv_line):
    """The command, machine, versions and date under each table."""
    import datetime
    import platform
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next((line.split(':', 1)[1].strip() for line in f if line.startswith('model name')), cpu)
    except OSError:
        pass
    versions = []
    for name in ('torch', 'onnxruntime', 'onnx', 'mmengine', 'mmcv', 'mmdet', 'mmseg', 'mmpretrain'):
        try:
            versions.append(f'{name} {__import__(name).__version__}')
        except Exception:  # noqa: BLE001 - a package that fails to import is simply not listed
            pass
    load = ', '.join(f'{v:.2f}' for v in os.getloadavg()) if hasattr(os, 'getloadavg') else 'n/a'
    date = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    return (f'\n`{argv_line}`, {date}; {cpu}, {os.cpu_count()} logical CPUs, load average at the start {load}; '
            f'Python {platform.python_version()}, {", ".join(versions)}.\n')


# ------------------------------------------------------------------------------------------------------ accuracy --
def _data_options(cfg, data_root, dataset):
    """The config's loaders (and a COCO evaluator's annotation file) pointed at ``data_root/dataset``, as the tests
    point the demo configs at generated data."""
    root = osp.join(osp.abspath(data_root), dataset).rstrip('/') + '/'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(loader):
            cfg[loader].dataset.data_root = root
    if dataset == 'coco':
        for evaluator in ('val_evaluator', 'test_evaluator'):
            if cfg.get(evaluator):
                cfg[evaluator].ann_file = root + 'annotations/instances_val.json'


def train_missing(args):
    """Trains each missing demo with tools/train.py on the generated data (generated first where absent)."""
    import subprocess
    data_root = args.data_root or osp.join(args.trained_dir, 'demo_data')
    for task in args.missing:
        config, dataset = DEMOS[task]
        if not osp.isdir(osp.join(data_root, dataset)):
            subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'make_demo_data.py'), '--root', data_root,
                            '--only', dataset], check=True)
        root = osp.join(osp.abspath(data_root), dataset) + '/'
        options = [f'{loader}.dataset.data_root={root}' for loader in ('train_dataloader', 'val_dataloader',
                                                                       'test_dataloader')]
        if dataset == 'coco':
            options += [f'{e}.ann_file={root}annotations/instances_val.json' for e in ('val_evaluator',
                                                                                        'test_evaluator')]
        work_dir = osp.join(args.trained_dir, task)
        print(f'vdense: training {config} into {work_dir} (minutes)', flush=True)
        proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py'),
                               osp.join(ROOT, 'configs', 'demo', config), '--work-dir', work_dir,
                               '--cfg-options', *options])
        if proc.returncode:
            raise ReportError(f'training {config} failed (exit {proc.returncode}); see {work_dir}')
        args.models[task] = _work_dir_model(task, work_dir)
    args.models = {t: args.models[t] for t in DEMOS if t in args.models}


def export_with_tool(config, checkpoint, out):
    """tools/export_onnx.py on the model (its check at 97x211, the size padding every stage and merge). Returns None,
    or the tool's one-line error."""
    import contextlib
    import importlib.util
    import io
    spec = importlib.util.spec_from_file_location('_vdense_export_onnx', osp.join(ROOT, 'tools', 'export_onnx.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            tool.main([config, checkpoint, out, '--check-size', '97', '211'])
    except SystemExit as e:
        if e.code:
            lines = err.getvalue().strip().splitlines() or [f'exit {e.code}']
            return lines[-1].removeprefix('error: ')
    return None


def _pasted(runtime, masks, boxes, height, width, threshold):
    """Masks at the image's size: a graph's per-box mask probabilities pasted as the runtime pastes them for its
    outputs (vdense/deploy/runtime.py ``paste_masks``, mmdet's rule); masks already pasted are kept."""
    import numpy as np
    masks = np.asarray(masks)
    if masks.dtype == bool:
        return masks
    return runtime.paste_masks(masks, np.asarray(boxes), height, width, threshold)


def _onnx_prediction(task, sample, model, runtime):
    """The PyTorch prediction's data sample (as a dict, gt and meta kept) with onnxruntime's prediction in place of
    PyTorch's, from the image file read as the deployment runtime reads it."""
    import numpy as np
    import torch
    image = runtime.read_image(sample.img_path)
    pred = model([image])[0]
    d = sample.to_dict()
    if task == 'detector':
        boxes = np.asarray(pred['bboxes'], np.float32).reshape(-1, 4)
        instances = dict(bboxes=torch.from_numpy(boxes),
                         scores=torch.from_numpy(np.asarray(pred['scores'], np.float32)),
                         labels=torch.from_numpy(np.asarray(pred['labels'], np.int64)))
        if pred.get('masks') is not None:
            instances['masks'] = torch.from_numpy(_pasted(runtime, pred['masks'], boxes, *image.shape[:2],
                                                          getattr(model, 'mask_threshold', 0.5)))
        d['pred_instances'] = instances
    elif task == 'segmentor':
        d.pop('seg_logits', None)
        d['pred_sem_seg'] = dict(data=torch.from_numpy(np.asarray(pred['seg'], np.int64))[None])
    else:
        scores = torch.from_numpy(np.asarray(pred['scores'], np.float32))
        d['pred_score'], d['pred_label'] = scores, scores.argmax(keepdim=True)
    return d


def evaluate(task_name, config, checkpoint, onnx_path, args):
    """{metric: (PyTorch, onnxruntime or None)} on the config's test split, and the number of images."""
    import contextlib
    import io

    import torch
    from mmengine.config import Config
    from mmengine.evaluator import Evaluator
    from mmengine.runner import Runner

    from vdense.deploy import runtime
    from vdense.deploy.graphs import task_of
    from vdense.engine import MIN_COVERAGE_TEST, check_coverage, read_checkpoint
    from vdense.engine.build import build_model_from_config
    from vdense.engine.cli import preflight
    from vdense.engine.coverage import model_state_of
    cfg = Config.fromfile(config)
    if args.data_root:
        _data_options(cfg, args.data_root, DEMOS[task_name][1])
    if args.val_images:
        cfg.test_dataloader.dataset.indices = args.val_images
    cfg.test_dataloader.num_workers = 0
    cfg.test_dataloader.persistent_workers = False
    preflight(cfg, ('test_dataloader',), check_weights=False)  # a missing split: one line naming it
    state = read_checkpoint(checkpoint)
    model = build_model_from_config(cfg)
    check_coverage(model, state, checkpoint, MIN_COVERAGE_TEST, 'an accuracy report')
    model.load_state_dict(model_state_of(state), strict=False)
    model.eval()
    task = task_of(model)
    loader = Runner.build_dataloader(cfg.test_dataloader)
    dataset = loader.dataset
    evaluators = [Evaluator(cfg.test_evaluator), Evaluator(cfg.test_evaluator)]
    for evaluator in evaluators:
        evaluator.dataset_meta = dataset.metainfo
        if args.val_images:  # COCO scores every image of its annotation file unless told which
            for metric in evaluator.metrics:
                if hasattr(metric, 'img_ids'):
                    metric.img_ids = [dataset.get_data_info(i)['img_id'] for i in range(len(dataset))]
    onnx_model = runtime.OnnxModel(onnx_path) if onnx_path else None
    with torch.inference_mode():
        for batch in loader:
            outputs = model.test_step(batch)
            evaluators[0].process(outputs, batch)
            if onnx_model is not None:
                evaluators[1].process([_onnx_prediction(task, s, onnx_model, runtime) for s in outputs], batch)
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its whole summary
        torch_metrics = evaluators[0].evaluate(len(dataset))
        onnx_metrics = evaluators[1].evaluate(len(dataset)) if onnx_model is not None else {}
    found = {k: (torch_metrics[k], onnx_metrics.get(k)) for k in METRICS if k in torch_metrics}
    if not found:
        raise ReportError(f'{config}: its evaluator gave none of {", ".join(METRICS)} ({", ".join(torch_metrics)})')
    return found, len(dataset)


def accuracy_table(args, export_dir):
    rows = ['| task | config | val images | metric | PyTorch | onnxruntime | difference | within 0.1 |',
            '|---|---|---|---|---|---|---|---|']
    failed = []
    for task, (config, checkpoint) in args.models.items():
        import time
        start = time.perf_counter()
        out = osp.join(export_dir, f'{task}.onnx')
        error = export_with_tool(config, checkpoint, out)
        if error and 'not supported' not in error:
            failed.append(f'{task}: export failed: {error}')
        metrics, images = evaluate(task, config, checkpoint, None if error else out, args)
        for key, (torch_value, onnx_value) in metrics.items():
            name, scale = METRICS[key]
            t = torch_value * scale
            if error:
                cells = ['not exportable yet' if 'not supported' in error else 'export failed', '', '']
            else:
                o = onnx_value * scale
                ok = abs(t - o) <= TOLERANCE + 1e-9
                cells = [f'{o:.2f}', f'{o - t:+.2f}', 'yes' if ok else '**NO**']
                if not ok:
                    failed.append(f'{task} {name}: PyTorch {t:.2f}, onnxruntime {o:.2f}')
            rows.append(f'| {task} | {osp.basename(config)} | {images} | {name} | {t:.2f} | ' + ' | '.join(cells)
                        + ' |')
        print(f'vdense: accuracy of {task} done in {time.perf_counter() - start:.0f} s', flush=True)
    notes = ('\nThe same images through both: PyTorch `model.test_step` on the config\'s test dataloader, '
             'onnxruntime through vdense/deploy/runtime.py on the image files (tools/infer.py MODEL.onnx\'s path); '
             'each scored by the config\'s evaluator. mAP x100.\n')
    return '\n'.join(rows) + '\n' + notes, failed


# ------------------------------------------------------------------------------------------------------- latency --
def saturate_detections(model):
    """Classification biases such that every candidate the test_cfg admits passes its score threshold (see the
    module doc): RetinaNet-like heads ~0.5 per (anchor, class); R-CNN box heads ~1/3 on three classes."""
    import torch
    with torch.no_grad():
        head = getattr(model, 'bbox_head', None)
        for name in ('retina_cls', 'conv_cls'):
            if head is not None and getattr(head, name, None) is not None:
                getattr(head, name).bias.zero_()
        roi = getattr(model, 'roi_head', None)
        if roi is not None:
            heads = roi.bbox_head if isinstance(roi.bbox_head, torch.nn.ModuleList) else [roi.bbox_head]
            for h in heads:
                h.fc_cls.bias.fill_(-10.)
                h.fc_cls.bias[:3] = 0.


def _detector_type(name):
    """'retinanet' or 'mask_rcnn' from a config's file name (ours and mmdet's spellings), else None."""
    base = osp.basename(name).replace('-', '_')
    return next((kind for kind in ('retinanet', 'mask_rcnn') if base.startswith(kind)), None)


def _model_label(name):
    if '::' in name:
        return f'mmdet {osp.basename(name)[:-3]} (reference)'
    return osp.basename(name)[:-3]


def _eager_call(model, task, image):
    """``model.test_step`` on one BGR uint8 image (3, H, W), as the test loop feeds it."""
    import torch
    H, W = image.shape[-2:]
    if task == 'detector':
        from mmdet.structures import DetDataSample
        sample = DetDataSample(metainfo=dict(img_shape=(H, W), ori_shape=(H, W), scale_factor=(1., 1.)))
    else:
        from mmseg.structures import SegDataSample
        sample = SegDataSample(metainfo=dict(img_shape=(H, W), ori_shape=(H, W)))
    data = dict(inputs=[image], data_samples=[sample])

    def run():
        with torch.inference_mode():
            return model.test_step(data)
    return run


def _median_ms(fns, runs, warmup):
    """Median ms of each function, timed in turn in every round."""
    import statistics
    import time
    for _ in range(warmup):
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    for _ in range(runs):
        for t, fn in zip(times, fns):
            start = time.perf_counter()
            fn()
            t.append((time.perf_counter() - start) * 1e3)
    return [statistics.median(t) for t in times]


def _onnx_call(session, graph, image_rgb):
    """One onnxruntime run as the deployment runtime does it: the graph, then (Mask R-CNN) each kept box's mask
    pasted at the image's size (vdense/deploy/runtime.py), which mmdet's eager test_step does too."""
    from vdense.deploy import runtime
    H, W = image_rgb.shape[-2:]
    threshold = getattr(graph, 'mask_threshold', 0.5)
    feed = {'image': image_rgb}

    def run():
        outputs = session.run(None, feed)
        if len(outputs) > 3:
            keep = outputs[2][0] >= 0
            _pasted(runtime, outputs[3][0][keep], outputs[0][0][keep], H, W, threshold)
        return outputs
    return run


def latency_row(name, args, export_dir):
    """Median ms of PyTorch eager and onnxruntime for one config (random weights)."""
    import gc
    import logging

    import numpy as np
    import onnxruntime as ort
    import torch
    from mmengine.config import Config
    from mmengine.hub import get_config
    from mmengine.logging import MMLogger

    from vdense.deploy.graphs import build_graph, task_of
    from vdense.deploy.onnx_export import export_graph
    from vdense.engine.build import build_model_from_config
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    path = name if '::' in name or osp.isfile(name) else osp.join(ROOT, name)
    cfg = get_config(path) if '::' in name else Config.fromfile(path)
    torch.manual_seed(0)
    model = build_model_from_config(cfg).eval()
    task = task_of(model)
    if task not in ('detector', 'segmentor'):
        raise ReportError(f'--latency-models {name}: a {task}; latency is measured for detectors and segmentors')
    saturate_detections(model)
    H, W = args.det_hw if task == 'detector' else args.seg_hw
    rgb = np.random.default_rng(0).integers(0, 256, (1, 3, H, W), dtype=np.uint8)
    eager = _eager_call(model, task, torch.from_numpy(np.ascontiguousarray(rgb[0, ::-1])))
    fns, note, error = [eager], '', None
    if '::' in name:
        note = 'reference: PyTorch only'
    else:
        try:
            graph = build_graph(model, task)
            out = osp.join(export_dir, osp.basename(name)[:-3] + '.onnx')
            export_graph(graph, out)  # what tools/export_onnx.py writes (its check and metadata aside)
        except NotImplementedError:
            note = 'not exportable yet'
        except Exception as e:  # noqa: BLE001 - one row fails, the table is still written (and the exit is 1)
            error = (str(e).strip().splitlines() or [type(e).__name__])[-1][:200]
            note = 'export failed'
        else:
            options = ort.SessionOptions()
            options.intra_op_num_threads, options.inter_op_num_threads = args.threads, 1
            session = ort.InferenceSession(out, options, providers=['CPUExecutionProvider'])
            fns.append(_onnx_call(session, graph, rgb.astype(np.float32)))
    times = _median_ms(fns, args.runs, args.warmup)
    kept = ''
    if task == 'detector':
        kept = str(len(eager()[0].pred_instances))
        if len(fns) > 1:
            kept += f' / {int((fns[1]()[2] >= 0).sum())}'
    row = dict(name=name, label=_model_label(name), task=task, size=f'{H}x{W}', eager=times[0],
               onnx=times[1] if len(fns) > 1 else None, note=note, kept=kept, error=error)
    del model, fns
    gc.collect()
    return row


def latency_table(args, export_dir):
    import time
    rows, failed = [], []
    for name in args.latency_models:
        start = time.perf_counter()
        rows.append(latency_row(name, args, export_dir))
        r = rows[-1]
        onnx = f'{r["onnx"]:.0f} ms' if r['onnx'] is not None else r['note']
        print(f'vdense: {r["label"]} {r["size"]}: PyTorch eager {r["eager"]:.0f} ms, onnxruntime {onnx} '
              f'({time.perf_counter() - start:.0f} s)', flush=True)
        if r['error']:
            failed.append(f'{r["label"]}: export failed: {r["error"]}')
    reference = {'retinanet': next((r['eager'] for r in rows if r['name'] == MMDET_RETINANET), None),
                 'mask_rcnn': next((r['eager'] for r in rows if r['name'] == MMDET_MASK_RCNN), None)}
    lines = ['| model | input | PyTorch eager (ms) | onnxruntime (ms) | eager / onnxruntime | '
             'mmdet eager / onnxruntime | detections kept (eager / onnxruntime) |',
             '|---|---|---|---|---|---|---|']
    for r in rows:
        ref = reference.get(_detector_type(r['name'])) if '::' not in r['name'] else None
        onnx = f'{r["onnx"]:.0f}' if r['onnx'] is not None else r['note']
        speedup = f'{r["eager"] / r["onnx"]:.2f}x' if r['onnx'] is not None else ''
        vs_mmdet = f'{ref / r["onnx"]:.2f}x' if r['onnx'] is not None and ref else ''
        lines.append(f'| {r["label"]} | {r["size"]} | {r["eager"]:.0f} | {onnx} | {speedup} | {vs_mmdet} | '
                     f'{r["kept"]} |')
    notes = (f'\nRandom weights; one image; {args.threads} threads (torch.set_num_threads, onnxruntime '
             f'intra_op_num_threads); median of {args.runs} runs after {args.warmup} warm-up, PyTorch and onnxruntime '
             'in turn. PyTorch eager: `model.test_step` (preprocessing, forward, test_cfg postprocessing, masks '
             'pasted). Detectors\' classification biases set so that every candidate test_cfg admits passes the '
             'score threshold (NMS at its largest, max_per_img kept): the upper bound of a trained model\'s '
             'postprocessing. "mmdet eager / onnxruntime": mmdet\'s own config of the same detector type with '
             'Swin-T, PyTorch eager, over this row\'s onnxruntime time (the aim: >= 1.3x). onnxruntime: the '
             'exported graph, plus the runtime\'s mask pasting where the graph gives per-box masks.\n')
    return '\n'.join(lines) + '\n' + notes, failed


def report(args):
    import logging
    import tempfile

    import torch
    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel(logging.WARNING)  # no per-tensor init reports: only the tables
    torch.set_num_threads(args.threads)
    argv_line = args.command
    failed = []
    with tempfile.TemporaryDirectory(prefix='deploy_report_') as tmp:
        export_dir = args.work_dir or tmp
        accuracy_md = latency_md = None
        if not args.skip_accuracy:
            if args.missing:
                train_missing(args)
            accuracy_md, failed = accuracy_table(args, export_dir)
            accuracy_md += provenance(args, argv_line)
        if not args.skip_latency:
            load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else 0.
            if load > 0.5 * (os.cpu_count() or 1):
                print(f'vdense: warning: load average {load:.1f} on {os.cpu_count()} CPUs: the latencies will not '
                      'be those of an idle machine (the table records the load)', file=sys.stderr, flush=True)
            latency_md, latency_failed = latency_table(args, export_dir)
            latency_md += provenance(args, argv_line)
            failed += latency_failed
    write_section(args, accuracy_md, latency_md)
    if failed:
        print('error: ' + '; '.join(failed), file=sys.stderr, flush=True)
        raise SystemExit(1)


if __name__ == '__main__':
    main()
