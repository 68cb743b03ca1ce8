"""Position tables of a checkpoint fitted to the model that loads it: Swin's relative-position bias tables
(bicubic, for another window size) and MViTv2's decomposed rel-pos tables (linear, for another input size, as
timm's and mmpretrain's checkpoint filters do)."""
from typing import Dict, Mapping

import torch
from mmengine.logging import print_log


def fit_position_tables(state: Dict[str, torch.Tensor], target: Mapping[str, torch.Tensor],
                        family: str) -> Dict[str, torch.Tensor]:
    """Resizes, in ``state``, every position table whose length differs from ``target``'s (the loading model's
    state dict: shapes only); other tensors are left alone. Logs one line when anything was resized."""
    # tensor maths, no model class
    from vdense.models.layers import resize_relative_position_bias_table, resize_relative_position_table
    windows, rel_pos = set(), 0
    for k, v in state.items():
        if k not in target or v.shape == target[k].shape or v.shape[1:] != target[k].shape[1:]:
            continue
        if k.endswith('relative_position_bias_table'):
            new_window = (int(round(target[k].shape[0] ** 0.5)) + 1) // 2
            state[k] = resize_relative_position_bias_table(v, new_window)
            windows.add(((int(round(v.shape[0] ** 0.5)) + 1) // 2, new_window))
        elif k.endswith(('rel_pos_h', 'rel_pos_w')):
            state[k] = resize_relative_position_table(v.float(), target[k].shape[0]).to(v.dtype)
            rel_pos += 1
    for old, new in sorted(windows):
        print_log(f'{family}: resized relative-position tables from window {old} to {new} (bicubic)', logger='current')
    if rel_pos:
        print_log(f'{family}: resized {rel_pos} relative-position tables to this img_size (linear)', logger='current')
    return state
