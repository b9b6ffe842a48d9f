"""memAE baseline (Gong et al., ICCV 2019, "Memorizing normality"): a 3D convolutional autoencoder
whose latent (``conv3d_ae.py``) is replaced by a read-out of a memory with hard shrinkage. The memory is the period
memory module without period scores (eq. 1, 5, 6 with softmax over slots), so both share one
implementation."""

from __future__ import annotations

import torch
from torch import nn

from .conv3d_ae import conv3d_decoder, conv3d_encoder
from .period_memory import PeriodMemory


class MemAE(nn.Module):
    def __init__(self, channels=(16, 32, 64, 128), mem_size: int = 2000, shrink_threshold: float = 0.0025):
        super().__init__()
        self.encoder = conv3d_encoder(3, channels)
        self.memory = PeriodMemory(mem_size, channels[-1], softmax_over="memory", shrink_threshold=shrink_threshold)
        self.decoder = conv3d_decoder(3, channels)

    def forward(self, x: torch.Tensor) -> dict:
        z = self.encoder(x)
        B, C, D, H, W = z.shape
        read, w_hat, _ = self.memory(z.flatten(2).transpose(1, 2))
        y = self.decoder(read.transpose(1, 2).reshape(B, C, D, H, W))
        y = y[:, :, : x.shape[2], : x.shape[3], : x.shape[4]]
        return {"recon": torch.tanh(y), "mem_weights": w_hat}
