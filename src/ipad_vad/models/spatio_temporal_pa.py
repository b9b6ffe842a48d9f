"""The unified model of seed 002 (Rai et al., "Video anomaly detection via spatio-temporal
pseudo-anomaly generation", Fig. 1): two 3D-CNN autoencoders adapted from Gong et al. [23]
(``conv3d_ae.py``) - A^s on the clip's frames (eq. 4) and A^t on its optical flow (eq. 5), both trained
to output the *normal* input whatever they are fed - and a discriminator D between normal clips and
spatial PAs (§3.5).

The paper's D classifies ViFi-CLIP features, which cannot be downloaded here. Substitute: the
features of A^s's own encoder, average-pooled over time and space; D reads them detached, so it is a
probe of those features as the paper's D is of frozen ViFi-CLIP features, and does not shape them.
A user with a local feature extractor (``features_checkpoint``: a TorchScript module mapping clips
(N, 3, T, H, W) in [-1, 1] to features (N, D)) gets D on those features instead; nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import DataError
from .conv3d_ae import Conv3dAE


@dataclass(frozen=True)
class STPAConfig:
    channels: tuple[int, ...] = (16, 32, 64, 64)  # A^s (paper: [23]'s 96-128-256-256 at 256x256)
    flow_channels: tuple[int, ...] = (16, 32, 64)  # A^t
    disc_hidden: int = 64  # D: features -> hidden -> 1
    features_checkpoint: str = ""  # D on a local TorchScript feature extractor instead of A^s's encoder
    clip_shape: tuple[int, int, int] = (16, 64, 64)  # (T, H, W) of the clips (sizes D's input on an extractor)


class Discriminator(nn.Module):
    """D: the probability that a clip's features come from a PA (label 1) rather than a normal clip (0)."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, 1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features).squeeze(-1)  # logits


class SpatioTemporalPA(nn.Module):
    def __init__(self, cfg: STPAConfig):
        super().__init__()
        self.cfg = cfg
        self.frames = Conv3dAE(3, cfg.channels, bounded=True)
        self.flow = Conv3dAE(2, cfg.flow_channels, bounded=False)
        self.extractor = None
        dim = cfg.channels[-1]
        if cfg.features_checkpoint:
            path = Path(cfg.features_checkpoint)
            if not path.is_file():
                raise DataError(path, "features_checkpoint: no such TorchScript file (weights are never downloaded)")
            self.extractor = torch.jit.load(str(path), map_location="cpu").eval()
            for p in self.extractor.parameters():
                p.requires_grad_(False)
            with torch.no_grad():
                dim = self.extractor(torch.zeros(1, 3, *cfg.clip_shape)).shape[-1]
        self.discriminator = Discriminator(dim, cfg.disc_hidden)

    def features(self, x: torch.Tensor, latent: torch.Tensor) -> torch.Tensor:
        """What D reads: A^s's latent pooled (or the local extractor's features), detached."""
        if self.extractor is not None:
            with torch.no_grad():
                return self.extractor(x).float()
        return latent.detach().mean(dim=(2, 3, 4))

    def forward(self, x: torch.Tensor, flow: torch.Tensor | None = None) -> dict:
        """x (N, 3, T, H, W) in [-1, 1]; flow (N, 2, T - 1, h, w) scaled flow fields, if given."""
        out = self.frames(x)
        out["logit"] = self.discriminator(self.features(x, out["latent"]))
        if flow is not None:
            out["flow_recon"] = self.flow(flow)["recon"]
        return out
