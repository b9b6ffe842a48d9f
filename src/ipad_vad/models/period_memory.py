"""Period memory (seed 000 §4.2, eq. 1-6), per sample.

For each sample b with token features F̂ (N x C) and period scores P_s (n_classes):
  w   = F̂ M̂ᵀ                                   (eq. 1)   N x M
  t_p = argmax P_s                               (eq. 2)
  t'_p = f_t(t_p) = floor(t_p * M / n_classes)   (eq. 3)   the memory slot of that position
  w'[:, t'_p] = w[:, t'_p] * (1 + P_s[t_p])      (eq. 4)   only that column is boosted
  ŵ   = softmax(w')                              (eq. 5)
  F̂_out = ŵ M̂                                    (eq. 6)   N x C

Eq. 5 as printed normalises each memory column over the tokens (Σ over i). The official code (from
MemAE) normalises each token's row over the memory slots, which makes F̂_out a convex combination of
stored features — what §4.2's text describes. Both are offered: ``softmax_over="memory"`` (default)
or ``"tokens"`` (eq. 5 as printed). Official-code variants behind settings: ``boost_radius`` (the
official code boosts ±7 slots around t'_p; 0 = the paper) and ``shrink_threshold`` (MemAE hard
shrinkage with re-normalisation; 0 = off). Without period scores (``period_probs=None``) the module
is a plain MemAE memory, which the memAE baseline uses.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class PeriodMemory(nn.Module):
    def __init__(
        self,
        mem_size: int,
        dim: int,
        n_classes: int = 200,
        softmax_over: str = "memory",
        boost_radius: int = 0,
        shrink_threshold: float = 0.0,
    ):
        super().__init__()
        if softmax_over not in ("memory", "tokens"):
            raise ValueError("softmax_over must be 'memory' or 'tokens'")
        self.mem_size, self.dim, self.n_classes = mem_size, dim, n_classes
        self.softmax_over, self.boost_radius, self.shrink_threshold = softmax_over, boost_radius, shrink_threshold
        self.memory = nn.Parameter(torch.empty(mem_size, dim))
        stdv = 1.0 / math.sqrt(dim)
        nn.init.uniform_(self.memory, -stdv, stdv)

    def slot_of(self, t_p: torch.Tensor) -> torch.Tensor:
        """eq. 3: f_t maps a period class to a memory slot."""
        return (t_p * self.mem_size) // self.n_classes

    def forward(self, f: torch.Tensor, period_probs: torch.Tensor | None = None):
        """f: (B, N, C) token features; period_probs: (B, n_classes) = P_s.
        Returns (F̂_out (B, N, C), ŵ (B, N, M), t_p (B,) or None)."""
        w = f @ self.memory.t()  # eq. 1
        t_p = None
        if period_probs is not None:
            t_p = period_probs.argmax(-1)  # eq. 2
            slot = self.slot_of(t_p)  # eq. 3
            p = period_probs.gather(1, t_p[:, None])  # P_s[t_p], (B, 1)
            offsets = torch.arange(-self.boost_radius, self.boost_radius + 1, device=f.device)
            cols = (slot[:, None] + offsets[None]) % self.mem_size  # (B, 2r+1)
            boost = torch.ones(f.shape[0], self.mem_size, device=f.device, dtype=w.dtype)
            boost = boost.scatter(1, cols, (1 + p).expand(-1, cols.shape[1]).to(w.dtype))
            w = w * boost[:, None, :]  # eq. 4, per sample
        w_hat = torch.softmax(w, dim=2 if self.softmax_over == "memory" else 1)  # eq. 5
        if self.shrink_threshold > 0:
            lam = self.shrink_threshold  # MemAE hard shrinkage, continuous form, then L1 re-normalisation
            w_hat = F.relu(w_hat - lam) * w_hat / (torch.abs(w_hat - lam) + 1e-12)
            w_hat = w_hat / w_hat.sum(dim=2, keepdim=True).clamp_min(1e-12)
        return w_hat @ self.memory, w_hat, t_p  # eq. 6


def memory_entropy(w_hat: torch.Tensor) -> torch.Tensor:
    """Mean entropy of the addressing weights over the memory axis (the official 0.0002-weighted term)."""
    return -(w_hat * torch.log(w_hat + 1e-12)).sum(-1).mean()
