"""Records golden outputs of mmcv 2.1.0's COMPILED ops for tests/test_ops.py (run once, where they are installed:
`make install MMCV_OPS=compiled`, then `python tests/data/ops/record_golden.py`). Writes golden.pt next to this file.

Cases: nms (offset 0/1, ties, boxes at/over image borders, degenerate and empty sets), batched_nms, RoIAlign
forward/backward (aligned True/False, sampling_ratio 0/2, two output sizes and scales, rois inside, on and past the
borders, degenerate and empty rois, float32 and float16), and the sigmoid focal loss forward/backward.

mmcv's CPU build has no sigmoid focal-loss kernel (CUDA/MLU/NPU only): where the compiled ops have no CUDA, the
focal-loss entries are a float32 transcription of the CUDA kernel
(mmcv/ops/csrc/common/cuda/sigmoid_focal_loss_cuda_kernel.cuh) and are marked so (``focal_source``); with a GPU
and CUDA ops they come from the compiled op.
"""
import os.path as osp
import sys

import torch

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(HERE))))


def nms_cases(g):
    cases = []
    # 1: random boxes on a 64x48 image, clipped to it (many at the borders), scores with ties.
    n = 120
    xy = torch.rand(n, 2, generator=g) * torch.tensor([64., 48.])
    wh = torch.rand(n, 2, generator=g) * 20
    boxes = torch.cat([xy - 4, xy + wh], 1)
    boxes[:, 0::2] = boxes[:, 0::2].clamp(0, 64)
    boxes[:, 1::2] = boxes[:, 1::2].clamp(0, 48)
    scores = (torch.rand(n, generator=g) * 10).round() / 10  # ties
    # 2: degenerate (zero width/height, a point), duplicates, integer coordinates.
    deg = torch.tensor([[5., 5., 5., 9.], [5., 5., 9., 5.], [3., 3., 3., 3.], [0., 0., 10., 10.], [0., 0., 10., 10.],
                        [1., 1., 11., 11.], [0., 0., 9., 9.], [20., 20., 30., 30.], [20., 20., 30., 30.]])
    deg_scores = torch.tensor([.9, .8, .7, .6, .6, .5, .55, .3, .3])
    for thr in (0.3, 0.5, 0.7):
        for offset in (0, 1):
            cases.append(dict(boxes=boxes, scores=scores, iou_threshold=thr, offset=offset))
            cases.append(dict(boxes=deg, scores=deg_scores, iou_threshold=thr, offset=offset))
    cases.append(dict(boxes=torch.zeros(0, 4), scores=torch.zeros(0), iou_threshold=0.5, offset=0))
    cases.append(dict(boxes=boxes, scores=scores, iou_threshold=0.5, offset=0, score_threshold=0.45, max_num=10))
    return cases


def batched_nms_cases(g):
    n = 150
    xy = torch.rand(n, 2, generator=g) * 100
    boxes = torch.cat([xy, xy + 5 + torch.rand(n, 2, generator=g) * 30], 1)
    scores = torch.rand(n, generator=g)
    idxs = torch.randint(0, 5, (n,), generator=g)
    return [dict(boxes=boxes, scores=scores, idxs=idxs, nms_cfg=dict(iou_threshold=thr), class_agnostic=agn)
            for thr in (0.5, 0.7) for agn in (False, True)] + \
        [dict(boxes=boxes, scores=scores, idxs=idxs, nms_cfg=dict(iou_threshold=0.6, split_thr=50),
              class_agnostic=False)]


def roi_align_inputs(g):
    feat = torch.randn(2, 3, 12, 16, generator=g)
    scale = 0.25  # image 48 x 64
    rois = torch.tensor([
        [0, 4., 4., 30., 20.],      # inside
        [1, 0., 0., 64., 48.],      # the whole image, on the borders
        [0, -10., -6., 20., 15.],   # past the top-left border
        [1, 50., 40., 80., 70.],    # past the bottom-right border
        [0, 10., 10., 10., 10.],    # a point
        [1, 12., 5., 12., 30.],     # zero width
        [0, 63.5, 47.5, 64., 48.],  # tiny, in the corner
        [1, 70., 60., 90., 80.],    # entirely outside
        [0, 7.3, 2.9, 41.7, 33.1],  # fractional
    ])
    return feat, rois, scale


def roi_align_cases(g):
    feat, rois, scale = roi_align_inputs(g)
    cases = []
    for aligned in (True, False):
        for sampling_ratio in (0, 2):
            for out_size, sc, f in (((7, 7), scale, feat), ((3, 5), scale * 2, feat[:, :, :, :])):
                grad_out = torch.randn(rois.size(0), feat.size(1), *out_size, generator=g)
                cases.append(dict(input=f, rois=rois, output_size=out_size, spatial_scale=sc,
                                  sampling_ratio=sampling_ratio, aligned=aligned, grad_output=grad_out))
    cases.append(dict(input=feat, rois=rois[:0], output_size=(7, 7), spatial_scale=scale, sampling_ratio=0,
                      aligned=True, grad_output=torch.zeros(0, 3, 7, 7)))
    for aligned in (True, False):  # float16 (mmcv's CPU kernel dispatches half too)
        cases.append(dict(input=feat.half(), rois=rois.half(), output_size=(7, 7), spatial_scale=scale,
                          sampling_ratio=2, aligned=aligned,
                          grad_output=torch.randn(rois.size(0), 3, 7, 7, generator=g).half()))
    return cases


def focal_cases(g):
    n, c = 40, 6
    logits = torch.randn(n, c, generator=g) * 4
    logits[0] = torch.tensor([-30., -17., 0., 17., 30., 88.])  # saturated probabilities (the FLT_MIN clamp)
    target = torch.randint(0, c + 1, (n,), generator=g)  # c = background
    weight = torch.rand(c, generator=g) + 0.5
    cases = []
    for gamma, alpha in ((2.0, 0.25), (1.5, 0.5), (0.0, 0.25)):
        for w in (None, weight):
            t = target if w is None else target.clamp(max=c - 1)  # weight[target]: mmcv reads past the end
            cases.append(dict(input=logits, target=t, gamma=gamma, alpha=alpha, weight=w))
    cases.append(dict(input=torch.zeros(0, c), target=torch.zeros(0, dtype=torch.long), gamma=2.0, alpha=0.25,
                      weight=None))
    return cases


def focal_reference(input, target, weight, gamma, alpha):
    """mmcv's CUDA sigmoid focal-loss kernel for float32 inputs, transcribed operation by operation in float32
    (the saturation included: p rounds to 1 for logits above ~17, where log(max(1 - p, FLT_MIN)) = -87.3):
    (loss, d loss / d input), unreduced."""
    x = input.float()
    flag_p = (target.view(-1, 1) == torch.arange(x.size(1))).float()
    flag_n = 1 - flag_p
    p = 1 / (1 + torch.exp(-x))
    fmin = 1.1754943508222875e-38
    lp, l1p = torch.log(p.clamp(min=fmin)), torch.log((1 - p).clamp(min=fmin))
    loss = -flag_p * alpha * ((1 - p) ** gamma * lp) + -flag_n * (1 - alpha) * (p ** gamma * l1p)
    grad = (-flag_p * alpha * ((1 - p) ** gamma * (1 - p - gamma * p * lp))
            + -flag_n * (1 - alpha) * (p ** gamma * (gamma * (1 - p) * l1p - p)))
    if weight is not None:
        loss, grad = loss * weight.float()[target].view(-1, 1), grad * weight.float()[target].view(-1, 1)
    return loss, grad


def main():
    import vdense  # noqa: F401
    from mmcv.ops import RoIAlign, batched_nms, nms, sigmoid_focal_loss
    from vdense.ops import compiled_ops_installed, kernels_in_use
    assert compiled_ops_installed() and kernels_in_use() == 'compiled', 'needs mmcv with compiled ops'
    g = torch.Generator().manual_seed(15)
    golden = dict(torch_version=str(torch.__version__), nms=[], batched_nms=[], roi_align=[], focal=[])
    for c in nms_cases(g):
        kw = {k: c[k] for k in ('score_threshold', 'max_num') if k in c}
        dets, inds = nms(c['boxes'], c['scores'], c['iou_threshold'], offset=c['offset'], **kw)
        golden['nms'].append(dict(c, dets=dets, inds=inds))
    for c in batched_nms_cases(g):
        dets, keep = batched_nms(c['boxes'], c['scores'], c['idxs'], c['nms_cfg'], c['class_agnostic'])
        golden['batched_nms'].append(dict(c, dets=dets, keep=keep))
    for c in roi_align_cases(g):
        x = c['input'].clone().requires_grad_()
        op = RoIAlign(c['output_size'], c['spatial_scale'], c['sampling_ratio'], aligned=c['aligned'])
        out = op(x, c['rois'])
        out.backward(c['grad_output'])
        golden['roi_align'].append(dict(c, output=out.detach(), grad_input=x.grad))
    cuda_focal = torch.cuda.is_available()
    golden['focal_source'] = 'compiled CUDA op' if cuda_focal else 'float32 transcription of the CUDA kernel'
    for c in focal_cases(g):
        if cuda_focal:
            x = c['input'].cuda().requires_grad_()
            w = None if c['weight'] is None else c['weight'].cuda()
            loss = sigmoid_focal_loss(x, c['target'].cuda(), c['gamma'], c['alpha'], w, 'none')
            loss.backward(torch.ones_like(loss))
            loss, grad = loss.detach().cpu(), x.grad.cpu()
        else:
            loss, grad = focal_reference(c['input'], c['target'], c['weight'], c['gamma'], c['alpha'])
        golden['focal'].append(dict(c, loss=loss, grad=grad))
    out = osp.join(HERE, 'golden.pt')
    torch.save(golden, out)
    print(f'wrote {out} ({osp.getsize(out) / 1024:.0f} KiB): {len(golden["nms"])} nms, {len(golden["batched_nms"])} '
          f'batched_nms, {len(golden["roi_align"])} RoIAlign, {len(golden["focal"])} focal-loss cases '
          f'({golden["focal_source"]})')


if __name__ == '__main__':
    main()
