"""Period classification head f_p (seed 000 §4.2, eq. 2): the clip's relative position in its cycle
as one of `n_classes` (paper: 200) classes. P_s = softmax(f_p(F)); t_p = argmax P_s."""

from __future__ import annotations

import torch
from torch import nn


class PeriodHead(nn.Module):
    def __init__(self, in_dim: int, n_classes: int = 200, hidden: int = 0):
        super().__init__()
        self.n_classes = n_classes
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.norm = nn.LayerNorm(in_dim)
        layers = (
            [nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, n_classes)]
            if hidden
            else [nn.Linear(in_dim, n_classes)]
        )
        self.fc = nn.Sequential(*layers)

    def forward(self, f: torch.Tensor) -> torch.Tensor:  # (B, C, D, H, W) -> logits (B, n_classes)
        return self.fc(self.norm(self.pool(f).flatten(1)))


def period_targets(phase: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Class of a phase in [0, 1): floor(phase * n_classes); -1 (ignored by the loss) when unknown."""
    target = torch.floor(phase.clamp(0, 1 - 1e-9) * n_classes).long()
    return torch.where(torch.isnan(phase), torch.full_like(target, -1), target)


def official_period_targets(frame_idx: torch.Tensor, video_len: torch.Tensor, n_classes: int) -> torch.Tensor:
    """The official code's fallback target, `frame_idx * 200 // len(video)`: position in the video, not
    in the cycle; used when a video has no period annotation and `period.target: official`."""
    return (frame_idx * n_classes // video_len).long().clamp(0, n_classes - 1)
