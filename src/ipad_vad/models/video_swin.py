"""Video Swin Transformer encoder (Liu et al., CVPR 2022) for clips (B, 3, T, H, W).

The IPAD model's feature extractor (seed 000 §4.1, §5.2: Video Swin-T, C=96, depths 2,2,6,2,
heads 3,6,12,24, window 2x7x7, patch 4x4x4 in the official code). Differences from the reference
implementation, both deliberate:

* attention has **separate q, k and v linear layers** (not one fused qkv), so that peft's LoRA can
  adapt exactly q and v as §4.4 prescribes; `pretrained.py` maps fused checkpoints onto them;
* when a feature map is smaller than the window, the window shrinks to it and the relative position
  index is computed for the shrunken window (the reference slices the full-window index, which pairs
  the wrong offsets).

Built from timm layers (Mlp, DropPath, trunc_normal_) and torch's scaled_dot_product_attention.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from timm.layers import DropPath, Mlp, trunc_normal_
from torch import nn


def _window_and_shift(size, window, shift):
    w, s = list(window), list(shift)
    for i in range(3):
        if size[i] <= window[i]:
            w[i], s[i] = size[i], 0
    return tuple(w), tuple(s)


def window_partition(x: torch.Tensor, ws) -> torch.Tensor:
    """(B, D, H, W, C) -> (B * n_windows, wd * wh * ww, C)."""
    B, D, H, W, C = x.shape
    x = x.view(B, D // ws[0], ws[0], H // ws[1], ws[1], W // ws[2], ws[2], C)
    return x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(-1, ws[0] * ws[1] * ws[2], C)


def window_reverse(windows: torch.Tensor, ws, B: int, D: int, H: int, W: int) -> torch.Tensor:
    x = windows.view(B, D // ws[0], H // ws[1], W // ws[2], ws[0], ws[1], ws[2], -1)
    return x.permute(0, 1, 4, 2, 5, 3, 6, 7).reshape(B, D, H, W, -1)


@lru_cache(maxsize=64)
def relative_position_index(window: tuple[int, int, int], full: tuple[int, int, int]) -> torch.Tensor:
    """Index into a bias table laid out for `full` windows, for pairs of tokens in a `window`."""
    coords = torch.stack(torch.meshgrid(*[torch.arange(w) for w in window], indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
    rel[..., 0] += full[0] - 1
    rel[..., 1] += full[1] - 1
    rel[..., 2] += full[2] - 1
    return rel[..., 0] * (2 * full[1] - 1) * (2 * full[2] - 1) + rel[..., 1] * (2 * full[2] - 1) + rel[..., 2]


@lru_cache(maxsize=64)
def shift_attention_mask(size: tuple[int, int, int], window, shift) -> torch.Tensor:
    """-inf-like mask that keeps shifted windows from attending across the wrap-around seam."""
    D, H, W = size
    img = torch.zeros(1, D, H, W, 1)
    cnt = 0
    for d in (slice(-window[0]), slice(-window[0], -shift[0]), slice(-shift[0], None)):
        for h in (slice(-window[1]), slice(-window[1], -shift[1]), slice(-shift[1], None)):
            for w in (slice(-window[2]), slice(-window[2], -shift[2]), slice(-shift[2], None)):
                img[:, d, h, w, :] = cnt
                cnt += 1
    win = window_partition(img, window).squeeze(-1)
    mask = win[:, None, :] - win[:, :, None]
    return mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)


class WindowAttention3D(nn.Module):
    def __init__(
        self,
        dim: int,
        window: tuple[int, int, int],
        heads: int,
        qkv_bias: bool = True,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
    ):
        super().__init__()
        self.dim, self.window, self.heads = dim, tuple(window), heads
        # separate projections: LoRA targets `q` and `v` (seed 000 §4.4)
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.k = nn.Linear(dim, dim, bias=qkv_bias)
        self.v = nn.Linear(dim, dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.attn_drop, self.proj_drop = attn_drop, nn.Dropout(proj_drop)
        n = (2 * window[0] - 1) * (2 * window[1] - 1) * (2 * window[2] - 1)
        self.relative_position_bias_table = nn.Parameter(torch.zeros(n, heads))
        trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x: torch.Tensor, window, mask: torch.Tensor | None = None) -> torch.Tensor:
        Bw, N, C = x.shape
        h = self.heads

        def split(t):
            return t.view(Bw, N, h, C // h).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        idx = relative_position_index(tuple(window), self.window).to(x.device)
        bias = self.relative_position_bias_table[idx.reshape(-1)].view(N, N, h).permute(2, 0, 1)
        attn_mask = bias.unsqueeze(0).to(q.dtype)
        if mask is not None:
            nW = mask.shape[0]
            attn_mask = (
                (attn_mask.view(1, 1, h, N, N) + mask.to(q.dtype).view(1, nW, 1, N, N))
                .expand(Bw // nW, nW, h, N, N)
                .reshape(Bw, h, N, N)
            )
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=self.attn_drop if self.training else 0.0
        )
        return self.proj_drop(self.proj(out.transpose(1, 2).reshape(Bw, N, C)))


class SwinBlock3D(nn.Module):
    def __init__(self, dim, heads, window, shift, mlp_ratio=4.0, drop_path=0.0, qkv_bias=True):
        super().__init__()
        self.window, self.shift = tuple(window), tuple(shift)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention3D(dim, self.window, heads, qkv_bias)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act_layer=nn.GELU)  # fc1, fc2

    def _attend(self, x: torch.Tensor) -> torch.Tensor:
        B, D, H, W, C = x.shape
        ws, ss = _window_and_shift((D, H, W), self.window, self.shift)
        x = self.norm1(x)
        pd, ph, pw = (-D) % ws[0], (-H) % ws[1], (-W) % ws[2]
        x = F.pad(x, (0, 0, 0, pw, 0, ph, 0, pd))
        Dp, Hp, Wp = D + pd, H + ph, W + pw
        mask = None
        if any(ss):
            x = torch.roll(x, shifts=(-ss[0], -ss[1], -ss[2]), dims=(1, 2, 3))
            mask = shift_attention_mask((Dp, Hp, Wp), ws, ss).to(x.device)
        out = window_reverse(self.attn(window_partition(x, ws), ws, mask), ws, B, Dp, Hp, Wp)
        if any(ss):
            out = torch.roll(out, shifts=ss, dims=(1, 2, 3))
        return out[:, :D, :H, :W].contiguous()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, D, H, W, C)
        x = x + self.drop_path(self._attend(x))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class PatchMerging(nn.Module):
    """Halve H and W, double C (2x2 neighbourhoods concatenated, normalised, projected)."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        H, W = x.shape[2:4]
        x = F.pad(x, (0, 0, 0, W % 2, 0, H % 2))
        x = torch.cat([x[:, :, 0::2, 0::2], x[:, :, 1::2, 0::2], x[:, :, 0::2, 1::2], x[:, :, 1::2, 1::2]], -1)
        return self.reduction(self.norm(x))


class PatchEmbed3D(nn.Module):
    def __init__(self, patch=(4, 4, 4), in_chans=3, dim=96):
        super().__init__()
        self.patch = tuple(patch)
        self.proj = nn.Conv3d(in_chans, dim, kernel_size=self.patch, stride=self.patch)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, T, H, W) -> (B, D, H', W', C)
        T, H, W = x.shape[2:]
        pt, ph, pw = self.patch
        x = F.pad(x, (0, (-W) % pw, 0, (-H) % ph, 0, (-T) % pt))
        return self.norm(self.proj(x).permute(0, 2, 3, 4, 1))


class VideoSwinEncoder(nn.Module):
    """(B, 3, T, H, W) -> features (B, C * 2**(stages-1), T/pt, H/(ph*2**(stages-1)), W/...)."""

    def __init__(
        self,
        embed_dim=96,
        depths=(2, 2, 6, 2),
        heads=(3, 6, 12, 24),
        window=(2, 7, 7),
        patch=(4, 4, 4),
        mlp_ratio=4.0,
        drop_path=0.1,
        qkv_bias=True,
    ):
        super().__init__()
        if len(depths) != len(heads):
            raise ValueError("depths and heads need one entry per stage")
        self.patch_embed = PatchEmbed3D(patch, 3, embed_dim)
        rates = torch.linspace(0, drop_path, sum(depths)).tolist()
        self.stages = nn.ModuleList()
        self.merges = nn.ModuleList()
        dim, k = embed_dim, 0
        for i, (depth, h) in enumerate(zip(depths, heads)):
            shift = tuple(w // 2 for w in window)
            self.stages.append(
                nn.Sequential(
                    *[
                        SwinBlock3D(
                            dim, h, window, (0, 0, 0) if j % 2 == 0 else shift, mlp_ratio, rates[k + j], qkv_bias
                        )
                        for j in range(depth)
                    ]
                )
            )
            k += depth
            if i < len(depths) - 1:
                self.merges.append(PatchMerging(dim))
                dim *= 2
        self.norm = nn.LayerNorm(dim)
        self.out_dim = dim
        self.patch = tuple(patch)
        self.spatial_stride = patch[1] * 2 ** (len(depths) - 1)
        self.temporal_stride = patch[0]
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i < len(self.merges):
                x = self.merges[i](x)
        return self.norm(x).permute(0, 4, 1, 2, 3).contiguous()
