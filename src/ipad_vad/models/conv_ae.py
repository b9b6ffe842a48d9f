"""conAE baseline (Hasan et al., CVPR 2016, "Learning temporal regularity in video sequences"):
a 2D convolutional autoencoder over the clip's frames stacked as channels."""

from __future__ import annotations

import torch
from torch import nn


class ConvAE(nn.Module):
    def __init__(self, clip_len: int = 16, channels=(64, 128, 256)):
        super().__init__()
        cin = 3 * clip_len
        enc, dims = [], [cin, *channels]
        for a, b in zip(dims, dims[1:]):
            enc += [nn.Conv2d(a, b, 3, stride=2, padding=1), nn.BatchNorm2d(b), nn.ReLU(inplace=True)]
        dec = []
        for a, b in zip(dims[::-1], dims[::-1][1:]):
            last = b == cin
            dec += [nn.ConvTranspose2d(a, b, 4, stride=2, padding=1)]
            if not last:
                dec += [nn.BatchNorm2d(b), nn.ReLU(inplace=True)]
        self.encoder, self.decoder = nn.Sequential(*enc), nn.Sequential(*dec)
        self.clip_len = clip_len

    def forward(self, x: torch.Tensor) -> dict:
        B, C, T, H, W = x.shape
        y = self.decoder(self.encoder(x.reshape(B, C * T, H, W)))[:, :, :H, :W]
        return {"recon": torch.tanh(y).reshape(B, C, T, H, W)}
