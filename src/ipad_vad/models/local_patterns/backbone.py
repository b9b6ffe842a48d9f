"""The backbone of seed 003's spatial part (§3.2): region crops -> spatial tokens H^I (S_d x V_d).

The paper keeps a ResNet-18's 8th layer (28 x 28 x 512) trained from scratch with ITAM. Here, at the
demo's crop size (``crop`` pixels), three 3x3 convolutions (stride 1, 2, 2) keep a (crop/4)^2 grid of
``visual`` channels, with a learned position per token. ``clip_checkpoint`` replaces it by a user's
local CLIP-like image encoder (``load_image_encoder``); nothing is ever downloaded.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ...errors import DataError


class Backbone(nn.Module):
    def __init__(self, crop: int = 16, widths: tuple[int, ...] = (16, 32), visual: int = 32):
        super().__init__()
        c1, c2 = widths
        self.net = nn.Sequential(
            nn.Conv2d(3, c1, 3, 1, 1), nn.GELU(), nn.Conv2d(c1, c2, 3, 2, 1), nn.GELU(), nn.Conv2d(c2, visual, 3, 2, 1)
        )
        side = (crop + 3) // 4
        self.position = nn.Parameter(torch.zeros(side * side, visual))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Tokens (B, S_d, V_d) of crops (B, 3, crop, crop)."""
        return self.net(x).flatten(2).transpose(1, 2) + self.position


class ExternalEncoder(nn.Module):
    """A user's TorchScript image encoder (crops -> (B, D) or (B, S, D)) as a backbone: its output as tokens."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.module(x)
        return out[:, None] if out.ndim == 2 else out


def load_image_encoder(path: str | Path) -> nn.Module:
    """A local CLIP-like image encoder from `path`: a TorchScript file (crops in [-1, 1] -> (B, D) or
    (B, S, D) tokens). A clear DataError naming the file when it is missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise DataError(
            path, "clip_checkpoint: no such file (a local TorchScript image encoder; nothing is downloaded)"
        )
    try:
        return ExternalEncoder(torch.jit.load(str(path), map_location="cpu"))
    except Exception as e:  # noqa: BLE001 - torch raises many kinds
        raise DataError(path, f"clip_checkpoint: not a TorchScript image encoder ({e})") from None
