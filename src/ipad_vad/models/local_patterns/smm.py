"""Seed 003's State Machine Module (§3.3, eq. 2-6) and the plain predictor of its "without SMM" ablation.

A region's features v(tau) in R^N over a tube of L frames are encoded (Object Feature Encoder, a
linear map) into u(tau) in R^{M x O}: M channels of O weighted motion components each (eq. 2; the
paper has M = 1 - "the N-dimensional dynamics are encoded with O weights" -; M > 1 runs M such
machines side by side, a decision of this implementation: one scalar cannot carry a region's
features). Each channel's state c(t) in R^O follows eq. 3 with the Legendre A, B of ``legendre.py``
(LegT, window theta = L, bilinear discretisation), driven by sum_o u_o(tau), from c = 0 at the
tube's first frame:

    c(t) = A c(t-1) + B sum_o u_o(t)                      (eq. 3)
    x(t) = C c(t)                                         (eq. 4, C in R^{O x O} learnable, starts at I)
         = C A^{L-1} B s(t-L+1) + ... + C B s(t)         (eq. 5, ``unrolled``; s = sum_o u_o)
    u^_o(t + dt) = x_o(t) g_o(L + dt)                     (eq. 6, the motion components dt steps ahead)

and the Object Feature Decoder (linear) maps u^(t + dt) to the predicted features v^(t + dt).
"""

from __future__ import annotations

import torch
from torch import nn

from .legendre import bilinear, legt, motion_components


class StateMachine(nn.Module):
    def __init__(self, features: int, order: int = 4, length: int = 5, dt: int = 1, channels: int = 8):
        super().__init__()
        self.order, self.length, self.dt, self.channels = int(order), int(length), int(dt), int(channels)
        A, B = bilinear(*legt(self.order, float(self.length)))
        self.register_buffer("A", torch.as_tensor(A, dtype=torch.float32))
        self.register_buffer("B", torch.as_tensor(B, dtype=torch.float32))
        g = motion_components(self.order, self.length, [self.length + self.dt])[:, 0]
        self.register_buffer("g_ahead", torch.as_tensor(g, dtype=torch.float32))  # g_o(L + dt), eq. 6
        self.C = nn.Parameter(torch.eye(self.order))  # eq. 4
        self.encoder = nn.Linear(features, self.channels * self.order)
        self.decoder = nn.Linear(self.channels * self.order, features)

    def drive(self, v: torch.Tensor) -> torch.Tensor:
        """s(tau) = sum_o u_o(tau) (..., L, M) of features v (..., L, N) (eq. 2-3's input)."""
        return self.encoder(v).unflatten(-1, (self.channels, self.order)).sum(-1)

    def states(self, s: torch.Tensor) -> torch.Tensor:
        """c(t) (..., M, O) of inputs s (..., L, M) by the recurrence of eq. 3 from c = 0."""
        c = s.new_zeros(*s.shape[:-2], s.shape[-1], self.order)
        for tau in range(s.shape[-2]):
            c = c @ self.A.T + s[..., tau, :, None] * self.B
        return c

    def unrolled(self, s: torch.Tensor) -> torch.Tensor:
        """The same state in closed form: sum_j A^{L-1-j} B s(j) (eq. 5 before C)."""
        L = s.shape[-2]
        kernel = torch.stack([torch.linalg.matrix_power(self.A, L - 1 - j) @ self.B for j in range(L)])  # L, O
        return torch.einsum("...lm,lo->...mo", s, kernel)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        """Predicted features v^(t + dt) (..., N) from a tube v(t-L+1..t) (..., L, N)."""
        x = self.states(self.drive(v)) @ self.C.T  # eq. 4
        return self.decoder((x * self.g_ahead).flatten(-2))  # eq. 6, then the decoder


class PlainPredictor(nn.Module):
    """The "without SMM" ablation: an MLP from the tube's L concatenated features to v(t + dt)."""

    def __init__(self, features: int, length: int = 5, hidden: int = 64):
        super().__init__()
        self.length = int(length)
        self.net = nn.Sequential(nn.Linear(features * self.length, hidden), nn.GELU(), nn.Linear(hidden, features))

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.net(v.flatten(-2))
