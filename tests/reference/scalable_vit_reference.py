"""A deliberately naive ScalableViT written from the paper and the authors' released ImageNet code's semantics,
used as the parity oracle for vdense.ScalableViT: token layout (B, N, C), explicit softmax(q k^T), the authors'
window order, no padding (inputs must make every stage a multiple of 7), their state-dict key names.

It is slow and simple on purpose; never import it from vdense.
"""
import torch
import torch.nn as nn

EPS = 1e-6


class RefIWSA(nn.Module):
    def __init__(self, dim, heads, ws=7, qkv_bias=True):
        super().__init__()
        self.heads, self.ws = heads, ws
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.lim_func = nn.Conv2d(dim, dim, 3, 1, 1, groups=dim)

    def forward(self, x, H, W):
        B, N, C = x.shape
        ws, h = self.ws, self.heads
        q, k, v = self.qkv(x).reshape(B, N, 3, C).unbind(2)
        lim = self.lim_func(v.transpose(1, 2).reshape(B, C, H, W)).flatten(2).transpose(1, 2)
        out = torch.zeros_like(q)
        # one window at a time: the most literal reading of window attention
        for wy in range(H // ws):
            for wx in range(W // ws):
                idx = torch.tensor([(wy * ws + i) * W + wx * ws + j for i in range(ws) for j in range(ws)])
                qw, kw, vw = (t[:, idx].reshape(B, ws * ws, h, C // h).transpose(1, 2) for t in (q, k, v))
                attn = ((qw @ kw.transpose(-2, -1)) * (C // h) ** -0.5).softmax(-1)
                out[:, idx] = (attn @ vw).transpose(1, 2).reshape(B, ws * ws, C)
        return self.proj(out + lim)


class RefSSA(nn.Module):
    def __init__(self, dim, heads, sr, c_ratio, qkv_bias=True):
        super().__init__()
        self.heads, self.sr = heads, sr
        self.scale = (dim // heads * c_ratio) ** -0.5
        if sr > 1:
            cn = int(dim * c_ratio)
            self.q = nn.Linear(dim, cn, bias=qkv_bias)
            self.reduction = nn.Sequential(nn.Conv2d(dim, dim, sr, sr, groups=dim), nn.Conv2d(dim, cn, 1))
            self.norm_act = nn.Sequential(nn.LayerNorm(cn), nn.GELU())
            self.k = nn.Linear(cn, cn, bias=qkv_bias)
            self.v = nn.Linear(cn, dim, bias=qkv_bias)
        else:
            self.q = nn.Linear(dim, dim, bias=qkv_bias)
            self.kv = nn.Linear(dim, 2 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, H, W):
        B, N, C = x.shape
        h = self.heads
        if self.sr > 1:
            r = self.norm_act(self.reduction(x.transpose(1, 2).reshape(B, C, H, W)).flatten(2).transpose(1, 2))
            q, k, v = self.q(x), self.k(r), self.v(r)
        else:
            q, (k, v) = self.q(x), self.kv(x).chunk(2, dim=-1)
        q, k, v = (t.reshape(B, t.shape[1], h, -1).transpose(1, 2) for t in (q, k, v))
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))


class RefMlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class RefBlock(nn.Module):
    def __init__(self, dim, heads, sr, c_ratio, ws, mlp_ratio=4, qkv_bias=True):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=EPS), nn.LayerNorm(dim, eps=EPS)
        # the authors' rule: window attention where the block's ws is not 1 (even blocks), SSA otherwise
        self.attn = RefIWSA(dim, heads, ws, qkv_bias) if ws != 1 else RefSSA(dim, heads, sr, c_ratio, qkv_bias)
        self.mlp = RefMlp(dim, int(dim * mlp_ratio))

    def forward(self, x, H, W):
        x = x + self.attn(self.norm1(x), H, W)
        return x + self.mlp(self.norm2(x))


class RefPatchEmbed(nn.Module):
    def __init__(self, cin, cout, k, s, p):
        super().__init__()
        self.proj, self.norm = nn.Conv2d(cin, cout, k, s, p), nn.LayerNorm(cout, eps=EPS)


class RefPEG(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.proj = nn.Sequential(nn.Conv2d(dim, dim, 3, 1, 1, groups=dim))


class RefScalableViT(nn.Module):
    """Returns the four un-normed stage maps (NCHW) and the logits of the 4096-wide head."""

    def __init__(self, embed_dims, depths, num_heads, c_ratios, sr_ratios=(8, 4, 2, 1), wss=(7, 7, 7, 7),
                 mlp_ratios=(4, 4, 4, 4), qkv_bias=True, num_classes=1000):
        super().__init__()
        self.patch_embeds = nn.ModuleList(
            RefPatchEmbed(3 if i == 0 else embed_dims[i - 1], d, 7 if i == 0 else 3, 4 if i == 0 else 2,
                          3 if i == 0 else 1) for i, d in enumerate(embed_dims))
        self.pos_block = nn.ModuleList(RefPEG(d) for d in embed_dims)
        self.stages = nn.ModuleList(
            nn.ModuleList(RefBlock(d, num_heads[i], sr_ratios[i], c_ratios[i], 1 if j % 2 == 1 else wss[i],
                                   mlp_ratios[i], qkv_bias) for j in range(depths[i]))
            for i, d in enumerate(embed_dims))
        self.norm = nn.LayerNorm(embed_dims[-1], eps=EPS)
        self.head = nn.Sequential(nn.Linear(embed_dims[-1], 4096), nn.LayerNorm(4096, eps=EPS), nn.GELU(),
                                  nn.Linear(4096, num_classes))

    def forward(self, img):
        x, maps = img, []
        for i, (embed, peg, blocks) in enumerate(zip(self.patch_embeds, self.pos_block, self.stages)):
            x = embed.proj(x)
            B, C, H, W = x.shape
            x = embed.norm(x.flatten(2).transpose(1, 2))
            for j, blk in enumerate(blocks):
                x = blk(x, H, W)
                if j == 0:
                    x = x + peg.proj(x.transpose(1, 2).reshape(B, C, H, W)).flatten(2).transpose(1, 2)
            maps.append(x.transpose(1, 2).reshape(B, C, H, W))
            x = maps[-1]
        logits = self.head(self.norm(x.flatten(2).transpose(1, 2)).mean(1))
        return maps, logits


# The authors' variants: the keyword arguments of ``scalable_vit_small/base/large`` in their
# image_classification/models/scalablevit.py (github Yangr116/ScalableViT, commit 90afa8e, unchanged since), which
# built the released S, B and L checkpoints; all three also use patch_size 4, LayerNorm eps 1e-6 and the 4096-wide
# head. Written down as data so the tests can hold our arch table against them.
AUTHORS_VARIANTS = {
    'scalable_vit_small': dict(embed_dims=[64, 128, 256, 512], num_heads=[2, 4, 8, 16], mlp_ratios=[4, 4, 4, 4],
                               qkv_bias=True, depths=[2, 2, 20, 2], wss=[7, 7, 7, 7], sr_ratios=[8, 4, 2, 1],
                               c_ratios=[1.25, 1.25, 1.25, 1]),
    'scalable_vit_base': dict(embed_dims=[96, 192, 384, 768], num_heads=[3, 6, 12, 24], mlp_ratios=[4, 4, 4, 4],
                              qkv_bias=True, depths=[2, 2, 14, 6], wss=[7, 7, 7, 7], sr_ratios=[8, 4, 2, 1],
                              c_ratios=[2, 1.25, 1.25, 1]),
    'scalable_vit_large': dict(embed_dims=[128, 256, 512, 1024], num_heads=[4, 8, 16, 32], mlp_ratios=[4, 4, 4, 4],
                               qkv_bias=True, depths=[2, 6, 12, 4], wss=[7, 7, 7, 7], sr_ratios=[8, 4, 2, 1],
                               c_ratios=[0.25, 0.5, 1, 1]),
}
