"""memAE baseline (Gong et al., ICCV 2019, "Memorizing normality"): a 3D convolutional autoencoder
whose latent is replaced by a read-out of a memory with hard shrinkage. The memory is the period
memory module without period scores (eq. 1, 5, 6 with softmax over slots), so both share one
implementation."""

from __future__ import annotations

import torch
from torch import nn

from .period_memory import PeriodMemory


class MemAE(nn.Module):
    def __init__(self, channels=(16, 32, 64, 128), mem_size: int = 2000, shrink_threshold: float = 0.0025):
        super().__init__()
        enc, dims = [], [3, *channels]
        for i, (a, b) in enumerate(zip(dims, dims[1:])):
            stride = (1, 2, 2) if i == 0 else (2, 2, 2)
            enc += [nn.Conv3d(a, b, 3, stride=stride, padding=1), nn.BatchNorm3d(b), nn.LeakyReLU(0.2, inplace=True)]
        self.encoder = nn.Sequential(*enc)
        self.memory = PeriodMemory(mem_size, channels[-1], softmax_over="memory", shrink_threshold=shrink_threshold)
        dec, rdims = [], dims[::-1]
        for i, (a, b) in enumerate(zip(rdims, rdims[1:])):
            stride = (1, 2, 2) if i == len(rdims) - 2 else (2, 2, 2)
            kernel = (3, 4, 4) if stride[0] == 1 else 4
            pad = (1, 1, 1)
            dec.append(nn.ConvTranspose3d(a, b, kernel, stride=stride, padding=pad))
            if b != 3:
                dec += [nn.BatchNorm3d(b), nn.LeakyReLU(0.2, inplace=True)]
        self.decoder = nn.Sequential(*dec)

    def forward(self, x: torch.Tensor) -> dict:
        z = self.encoder(x)
        B, C, D, H, W = z.shape
        read, w_hat, _ = self.memory(z.flatten(2).transpose(1, 2))
        y = self.decoder(read.transpose(1, 2).reshape(B, C, D, H, W))
        y = y[:, :, : x.shape[2], : x.shape[3], : x.shape[4]]
        return {"recon": torch.tanh(y), "mem_weights": w_hat}
