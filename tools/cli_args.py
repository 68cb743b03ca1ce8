"""The tools' command-line arguments, standard library only: ``--help`` and a wrong flag answer before torch and
the OpenMMLab stack are imported (seconds otherwise). The tools import vdense only after parsing."""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """The module docstring as written, and each option's default where it has one (not the noise of
    ``(default: None)`` or ``(default: False)`` on flags)."""

    def _get_help_string(self, action):
        text = action.help or ''
        if '%(default)' in text or action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            return text
        return text + ' (default: %(default)s)'


def make_parser(doc: str, description: str = None) -> argparse.ArgumentParser:
    """A tool's parser: ``description`` (default: the docstring's first line), the rest of the docstring below."""
    lines = (doc or '').strip('\n').split('\n')
    return argparse.ArgumentParser(description=description or lines[0], epilog='\n'.join(lines[1:]).strip() or None,
                                   formatter_class=HelpFormatter)


def add_debug_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--debug', action='store_true',
                        help='on an error, the full traceback instead of one line; the whole log (config, '
                             'environment, hooks) on the console too')


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """The options tools/train.py and tools/test.py share."""
    parser.add_argument('--work-dir', help='where logs and checkpoints go (default: ./work_dirs/CONFIG_NAME)')
    # Parsed by vdense.engine.cli.load_config (mmengine's DictAction syntax): raw strings here keep --help fast.
    parser.add_argument('--cfg-options', nargs='+', metavar='KEY=VALUE',
                        help='override config entries, e.g. train_dataloader.batch_size=4; a key the config or the '
                             'class it configures does not have is refused with the closest names, unless written '
                             '+key=value (adds it unchecked)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher (tools/dist_train.sh sets pytorch)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)
    add_debug_arg(parser)


def add_repo_to_path() -> None:
    """Run from a clone without installing. First on the path even where an editable install already put the clone
    at its end: site-packages holds a top-level ``tests`` (mmsegmentation, model-index) that would hide the clone's."""
    if sys.path[:1] != [ROOT]:
        sys.path.insert(0, ROOT)
