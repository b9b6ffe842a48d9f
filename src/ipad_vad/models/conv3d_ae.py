"""The 3D convolutional autoencoder of Gong et al. (ICCV 2019, "Memorizing normality", its Table 1
layout): strided Conv3d + BatchNorm + LeakyReLU down, ConvTranspose3d back up. memAE puts its memory
between the two halves (``mem_ae.py``); seed 002 uses it without memory as its spatial and temporal
AEs (A^s on frames, A^t on flow; ``pseudo_anomaly/network.py``)."""

from __future__ import annotations

import torch
from torch import nn


def conv3d_encoder(in_channels: int, channels) -> nn.Sequential:
    """(N, C, T, H, W) -> (N, channels[-1], T / 2^(k-1), H / 2^k, W / 2^k): the first layer keeps time."""
    enc, dims = [], [in_channels, *channels]
    for i, (a, b) in enumerate(zip(dims, dims[1:])):
        stride = (1, 2, 2) if i == 0 else (2, 2, 2)
        enc += [nn.Conv3d(a, b, 3, stride=stride, padding=1), nn.BatchNorm3d(b), nn.LeakyReLU(0.2, inplace=True)]
    return nn.Sequential(*enc)


def conv3d_decoder(out_channels: int, channels) -> nn.Sequential:
    """The mirror of ``conv3d_encoder`` (no activation at the end)."""
    dec, rdims = [], [*channels[::-1], out_channels]
    for i, (a, b) in enumerate(zip(rdims, rdims[1:])):
        stride = (1, 2, 2) if i == len(rdims) - 2 else (2, 2, 2)
        kernel = (3, 4, 4) if stride[0] == 1 else 4
        dec.append(nn.ConvTranspose3d(a, b, kernel, stride=stride, padding=(1, 1, 1)))
        if i < len(rdims) - 2:
            dec += [nn.BatchNorm3d(b), nn.LeakyReLU(0.2, inplace=True)]
    return nn.Sequential(*dec)


class Conv3dAE(nn.Module):
    """Input (N, C, T, H, W) -> {"recon": same shape, "latent": the encoder's output}; `bounded`: the
    output through tanh (frames in [-1, 1]), else linear (optical flow)."""

    def __init__(self, in_channels: int = 3, channels=(16, 32, 64, 64), bounded: bool = True):
        super().__init__()
        self.encoder = conv3d_encoder(in_channels, channels)
        self.decoder = conv3d_decoder(in_channels, channels)
        self.bounded = bounded

    def forward(self, x: torch.Tensor) -> dict:
        z = self.encoder(x)
        y = self.decoder(z)[:, :, : x.shape[2], : x.shape[3], : x.shape[4]]
        return {"recon": torch.tanh(y) if self.bounded else y, "latent": z}
