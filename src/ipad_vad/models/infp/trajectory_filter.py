"""INFP's trajectory filter (seed 001 §3.3, eq. 18-21): a learned filter in the frequency domain of
the decoder's features, which weighs the fixed trajectories that parts move along over the background.

    X     = FFT(relu(Z_3 F_d))                               (eq. 18; Z_3 per position, over channels)
    R     = softmax over the N filters of Z_4(GAP(F_d))      (eq. 19; per channel of X)
    W     = sum_n R[b, n, c] * W_n[h, w]                      (eq. 20; W_n complex, learned)
    X_out = relu(Z_5(iFFT(X (x) W)))                         (eq. 21)

The N complex weights are learned parameters (initialised at random, small, as the official code
does) of the feature map's spatial size, so the filter is built for one frame size. The official code
applies its transform over (channels, height) of a channel-first tensor and its linear layers over
the width (a layout mix-up that only works at 224 x 288); here the transform runs over the spatial
axes and the linear layers over channels, as the equations say.
"""

from __future__ import annotations

import torch
from torch import nn


class TrajectoryFilter(nn.Module):
    def __init__(
        self, channels: int, size: tuple[int, int], n_filters: int = 4, expansion: int = 2, reduction: int = 4
    ):
        super().__init__()
        H, W = size
        hidden = channels * expansion
        self.n_filters, self.hidden = n_filters, hidden
        self.fc1 = nn.Linear(channels, hidden, bias=False)  # Z_3
        self.route_fc1 = nn.Linear(channels, max(1, channels // reduction), bias=False)  # Z_4 (an MLP)
        self.route_fc2 = nn.Linear(max(1, channels // reduction), n_filters * hidden, bias=False)
        self.complex_weight = nn.Parameter(torch.randn(H, W // 2 + 1, n_filters, 2) * 0.02)
        self.fc2 = nn.Linear(hidden, channels, bias=False)  # Z_5

    def routing(self, x: torch.Tensor) -> torch.Tensor:
        """R (N, n_filters, hidden): each channel's mix of the filters (eq. 19)."""
        r = self.route_fc2(torch.relu(self.route_fc1(x.mean((-2, -1)))))
        return r.view(x.shape[0], self.n_filters, self.hidden).softmax(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        N, C, H, W = x.shape
        y = torch.relu(self.fc1(x.permute(0, 2, 3, 1))).float()  # (N, H, W, hidden)
        # the transforms run over the last two axes of a channel-first copy (the same values as over
        # axes 1, 2 of the channel-last features, about twice as fast as over strided axes)
        spec = torch.fft.rfft2(y.permute(0, 3, 1, 2).contiguous(), norm="ortho")  # (N, hidden, H, W//2+1), eq. 18
        weights = torch.view_as_complex(self.complex_weight.float().contiguous())  # (H, W//2+1, n)
        mix = torch.einsum("bnc,hwn->bhwc", self.routing(x).float().to(weights.dtype), weights)  # eq. 20
        out = torch.fft.irfft2(spec * mix.permute(0, 3, 1, 2), s=(H, W), norm="ortho").permute(0, 2, 3, 1)
        return torch.relu(self.fc2(out.to(x.dtype))).permute(0, 3, 1, 2)  # eq. 21
