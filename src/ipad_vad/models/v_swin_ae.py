"""V-Swin-T baseline (seed 000 Table 2): the same Video Swin encoder and I3D-style decoder as
IPAD-VAD, without the period head and the period memory."""

from __future__ import annotations

import torch
from torch import nn

from .i3d_decoder import I3DDecoder
from .video_swin import VideoSwinEncoder


class VSwinAE(nn.Module):
    def __init__(self, encoder: dict, decoder: dict):  # model.encoder, model.decoder (settings/model.py)
        super().__init__()
        self.encoder = VideoSwinEncoder(**encoder)
        self.decoder = I3DDecoder(
            self.encoder.out_dim, len(self.encoder.stages) - 1, self.encoder.patch, min_dim=decoder["min_dim"]
        )

    def forward(self, x: torch.Tensor) -> dict:
        return {"recon": self.decoder(self.encoder(x), x.shape[2:])}
