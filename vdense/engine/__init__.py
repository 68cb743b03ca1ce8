"""Running models safely: checkpoints read as data and checked against the model, saved atomically; exact resume;
data problems found early."""
from .checkpoint_hook import AtomicCheckpointHook
from .checkpoint_reader import (
    CheckpointError,
    check_training_checkpoint,
    ensure_not_overwriting,
    install_checkpoint_reader,
    read_checkpoint,
    verify_name_hash,
)
from .coverage import MIN_COVERAGE_INIT, MIN_COVERAGE_TEST, check_coverage
from .exact_resume_hook import ExactResumeHook
from .image_files_check_hook import ImageFilesCheckHook
from .load_image import LoadImageFromFile, UnreadableImageError

__all__ = ['AtomicCheckpointHook', 'CheckpointError', 'check_training_checkpoint', 'ensure_not_overwriting',
           'install_checkpoint_reader', 'read_checkpoint', 'verify_name_hash', 'MIN_COVERAGE_INIT',
           'MIN_COVERAGE_TEST', 'check_coverage', 'ExactResumeHook', 'ImageFilesCheckHook', 'LoadImageFromFile',
           'UnreadableImageError']
