# COCO 2017 boxes + masks at data/coco (MMDetection layout), 1333x800 single-scale: mmdet's piece as is.
_base_ = 'mmdet::_base_/datasets/coco_instance.py'
