from .checks import DatasetNotFoundError, check_datasets, check_pretrained
from .demo_shapes import CLASSES, make_demo_coco, make_image, write_coco_split

__all__ = ['CLASSES', 'make_demo_coco', 'make_image', 'write_coco_split', 'DatasetNotFoundError',
           'check_datasets', 'check_pretrained']
