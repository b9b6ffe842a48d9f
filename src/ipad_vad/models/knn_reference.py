"""The non-parametric reference detector (DESIGN §9): the distance of a clip to its nearest
neighbours among the normal clips of a device, in a lighting-robust descriptor.

Descriptor of a clip (N, 3, T, H, W) in [-1, 1]: `frames` frames evenly spaced over the clip, each
area-downsampled to `size` and, with ``normalise="frame"``, brightness-normalised per frame
(zero mean, unit standard deviation over its pixels and channels, so a global lighting change or
gain drops out while colour differences between parts stay), flattened and concatenated:
d(x) in R^{frames * 3 * h * w}.

Score: the mean Euclidean distance to the k nearest descriptors of the bank of normal clips,
divided by sqrt(dim) (an RMS difference per descriptor element). No learning: `bank` is a buffer
filled by ``set_bank``; its size varies with the footage, and a saved model of any bank size loads
(``KnnReference.from_state_dict``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class ClipDescriptor(nn.Module):
    def __init__(self, frames: int = 5, size: tuple[int, int] = (16, 16), normalise: str = "frame"):
        super().__init__()
        if normalise not in ("frame", "none"):
            raise ValueError(f"normalise must be 'frame' or 'none', got {normalise!r}")
        self.frames, self.size, self.normalise = int(frames), tuple(int(s) for s in size), normalise

    @property
    def dim(self) -> int:
        return self.frames * 3 * self.size[0] * self.size[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        N, C, T, H, W = x.shape
        idx = torch.linspace(0, T - 1, self.frames).round().long().to(x.device)
        f = x.float().index_select(2, idx).transpose(1, 2).reshape(N * self.frames, C, H, W)
        f = F.adaptive_avg_pool2d(f, self.size).reshape(N, self.frames, -1)
        if self.normalise == "frame":
            f = (f - f.mean(-1, keepdim=True)) / f.std(-1, keepdim=True).clamp_min(1e-3)
        return f.reshape(N, -1)


class KnnReference(nn.Module):
    def __init__(self, frames: int = 5, size: tuple[int, int] = (16, 16), normalise: str = "frame", k: int = 1,
                 bank_size: int = 0, chunk: int = 4096):
        super().__init__()
        self.descriptor = ClipDescriptor(frames, size, normalise)
        self.k, self.chunk = int(k), int(chunk)
        self.register_buffer("bank", torch.zeros(bank_size, self.descriptor.dim))

    @torch.no_grad()
    def set_bank(self, descriptors: torch.Tensor) -> None:
        if descriptors.ndim != 2 or descriptors.shape[1] != self.descriptor.dim:
            raise ValueError(f"bank descriptors must be (n, {self.descriptor.dim}), got {tuple(descriptors.shape)}")
        self.bank = descriptors.detach().float().to(self.bank.device).contiguous()

    def distance(self, d: torch.Tensor) -> torch.Tensor:
        """Mean distance of descriptors `d` (N, dim) to their k nearest bank entries, / sqrt(dim)."""
        if len(self.bank) == 0:
            raise RuntimeError("the reference bank is empty: fit the detector on normal footage first")
        k = min(self.k, len(self.bank))
        best = None
        for s in range(0, len(self.bank), self.chunk):  # bounded memory for large banks
            dist = torch.cdist(d.float(), self.bank[s:s + self.chunk])
            best = dist if best is None else torch.cat([best, dist], 1)
            best = best.topk(min(k, best.shape[1]), dim=1, largest=False).values
        return best.mean(1) / math.sqrt(self.descriptor.dim)

    def forward(self, x: torch.Tensor) -> dict:
        return {"distance": self.distance(self.descriptor(x))}

    @classmethod
    def from_state_dict(cls, state_dict: dict, **settings) -> "KnnReference":
        model = cls(**settings, bank_size=int(state_dict["bank"].shape[0]))
        model.load_state_dict(state_dict)
        return model
