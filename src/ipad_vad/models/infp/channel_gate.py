"""Channel gating: global average pooling, a two-layer fully connected network and a sigmoid that
weighs each channel (squeeze-and-excitation). INFP uses it three times: the decoder's channel
attention (seed 001 eq. 3: "an average pooling and two convolutional layers ... followed by a ReLU
and a sigmoid"; 1x1 convolutions on a pooled vector are fully connected layers), the GAP+FC of the
frequency branch (delta in eq. 11-12) and the bias correction of the context fusion (eq. 17,
Z_1 and Z_2)."""

from __future__ import annotations

import torch
from torch import nn


class ChannelGate(nn.Module):
    """x * sigmoid(fc2(relu(fc1(GAP(x))))) for x (N, C, H, W); ``reduction`` divides C in the hidden layer."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(1, channels // max(1, reduction))
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        """The per-channel weights F_ca (N, C) in (0, 1)."""
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean((-2, -1))))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weights(x)[:, :, None, None]  # eq. 3: M_ca = F_ca (x) M_e
