"""Image loading whose failures name the file in one line, or skip it with a counted warning when asked to."""
import logging

from mmcv.transforms import LoadImageFromFile as _MMCVLoadImageFromFile
from mmengine.logging import print_log

from vdense.registry import TRANSFORMS


class UnreadableImageError(ValueError):
    """An image file that exists but cannot be read or decoded."""


@TRANSFORMS.register_module()
class LoadImageFromFile(_MMCVLoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` (same arguments), plus ``skip_unreadable``: in training, a file that cannot be
    read or decoded is skipped (the dataset draws another sample) with a warning that counts the skips, instead of
    stopping the run. Without it, such a file stops the run with one line naming it."""

    def __init__(self, skip_unreadable: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.skip_unreadable = skip_unreadable
        self.skipped = 0

    def transform(self, results: dict):
        try:
            return super().transform(results)
        except Exception as e:  # mmcv raises whatever the backend or decoder raised, or asserts on None
            reason = (f'{type(e).__name__}: {e}'.splitlines() or [''])[0][:200]
            path = results.get('img_path')
            if self.skip_unreadable:
                self.skipped += 1
                print_log(f'vdense: skipped unreadable image {path} ({reason}); {self.skipped} skipped so far by '
                          'this loader process', logger='current', level=logging.WARNING)
                return None
            raise UnreadableImageError(f'{path}: cannot be read as an image ({reason}); replace it, remove it from '
                                       'the annotations, or train with --skip-unreadable-images') from None
