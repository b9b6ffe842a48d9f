"""INFP's context fusion with its bias correction (seed 001 §3.2, eq. 17).

Around every position a region A of ``region`` x ``region`` is defined; four sub-regions of
``sub`` x ``sub`` sit in its corners. Each corner has its own convolution; their sum over the four
corners, through a ReLU, is the position's new value (M_con), which so combines the context around it
while ignoring the position itself and the rest of A. Zero padding keeps the feature size. The bias
correction then weighs each channel by a gate of two fully connected layers (eq. 17:
M'_con = M_con (x) sigma(Z_2 delta(Z_1 M_con)), with global average pooling before Z_1 as the
official code does; ``reduction`` 1 as there).

With the official settings (region 5, sub 1) each corner is a 1x1 convolution of the feature two
positions away diagonally.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .channel_gate import ChannelGate

CORNERS = ("tl", "tr", "bl", "br")


class ContextFusion(nn.Module):
    def __init__(self, channels: int, region: int = 5, sub: int = 1, reduction: int = 1):
        super().__init__()
        if region % 2 == 0 or not 1 <= sub <= (region - 1) // 2:
            raise ValueError(
                f"context fusion: region {region} must be odd and the corner sub-regions ({sub}) "
                "at most half of it, so that they leave the centre out"
            )
        self.pad = (region - 1) // 2
        self.sub = sub
        self.far = region - sub  # offset of the far corners in the padded map
        self.corners = nn.ModuleDict({k: nn.Conv2d(channels, channels, sub) for k in CORNERS})
        self.gate = ChannelGate(channels, reduction)

    def context(self, x: torch.Tensor) -> torch.Tensor:
        """M_con: the ReLU of the corners' convolutions summed (N, C, H, W)."""
        H, W = x.shape[-2:]
        y = F.pad(x, [self.pad] * 4)
        rows = {"t": 0, "b": self.far}
        cols = {"l": 0, "r": self.far}
        total = 0
        for k, conv in self.corners.items():
            r, c = rows[k[0]], cols[k[1]]
            total = total + conv(y[..., r : r + H + self.sub - 1, c : c + W + self.sub - 1])
        return torch.relu(total)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gate(self.context(x))  # eq. 17
