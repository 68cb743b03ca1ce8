"""mmdet's CocoDataset, counting the annotations it drops without a word.

mmdet skips an annotation whose category id the file does not declare, or whose box has no area inside the image
(or a side under 1 px, or ``area <= 0``): a broken export trains on a fraction of its boxes and nobody knows. This
class drops the same ones and says so once per annotation file, with counts and an example. Annotations of
categories the file declares but the config's ``metainfo.classes`` leaves out are a choice, not counted.
"""
from mmdet.datasets import CocoDataset as MMDetCocoDataset
from mmengine.logging import print_log
from mmengine.registry import DefaultScope

from vdense.registry import DATASETS


@DATASETS.register_module(name='CocoDataset')
class CountedCocoDataset(MMDetCocoDataset):

    def __init__(self, *args, **kwargs):
        # Built as type='vdense.CocoDataset', the registry switched the default scope to vdense: the pipeline's
        # transforms (Resize, PackDetInputs, ...) are mmdet's.
        with DefaultScope.overwrite_default_scope('mmdet'):
            super().__init__(*args, **kwargs)

    def load_data_list(self):
        self._dropped = dict(category=0, box=0)
        self._unknown_ids = set()
        self._total = 0
        data_list = super().load_data_list()
        self._report()
        return data_list

    def parse_data_info(self, raw_data_info: dict):
        declared = self.coco.cats  # the categories the file declares (kept until load_data_list ends)
        img = raw_data_info['raw_img_info']
        for ann in raw_data_info['raw_ann_info']:
            if ann.get('ignore', False):
                continue
            self._total += 1
            if ann.get('category_id') not in declared:
                self._dropped['category'] += 1
                self._unknown_ids.add(ann.get('category_id'))
                continue
            bbox = ann.get('bbox')
            if not (isinstance(bbox, (list, tuple)) and len(bbox) == 4):
                self._dropped['box'] += 1
                continue
            x1, y1, w, h = bbox
            inside_w = max(0, min(x1 + w, img['width']) - max(x1, 0))
            inside_h = max(0, min(y1 + h, img['height']) - max(y1, 0))
            if inside_w * inside_h == 0 or ann.get('area', 1) <= 0 or w < 1 or h < 1:
                self._dropped['box'] += 1
        valid = [ann for ann in raw_data_info['raw_ann_info']
                 if isinstance(ann.get('bbox'), (list, tuple)) and len(ann['bbox']) == 4]
        return super().parse_data_info(dict(raw_data_info, raw_ann_info=valid))

    def _report(self) -> None:
        category, box = self._dropped['category'], self._dropped['box']
        if not (category or box):
            return
        parts = []
        if category:
            examples = ', '.join(str(i) for i in sorted(self._unknown_ids, key=str)[:3])
            parts.append(f'{category} with a category id the file does not declare (e.g. {examples})')
        if box:
            parts.append(f'{box} with a box of no area inside the image (a side under 1 px, or area <= 0)')
        print_log(f'vdense: {self.ann_file}: {category + box} of {self._total} annotations ignored: '
                  f'{"; ".join(parts)}', logger='current', level=30)
