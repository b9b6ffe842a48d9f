"""INFP's frequency branch (seed 001 §3.2, eq. 8-14).

The encoder's features are taken to the frequency domain over their two spatial axes (eq. 8, a real
2-D FFT: the spectrum of real features is determined by its non-negative frequencies), split into real
and imaginary parts (eq. 9), each refined by its own small CNN f, a LeakyReLU and a GAP + fully
connected gate delta, added back to itself (eq. 11-12), recombined and taken back to the spatial
domain (eq. 13), then concatenated with a spatial CNN gamma of the same features and reduced to the
input's channels by a 1x1 convolution (eq. 14).

Where the official code differs (read for details the paper leaves out): it refines magnitude and
phase rather than the real and imaginary parts eq. 11-12 name; and it applies gamma to the spatial
features (eq. 14's gamma(z) of a complex z is not defined for a CNN), as here.
"""

from __future__ import annotations

import torch
from torch import nn

from .channel_gate import ChannelGate


def spectrum(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Real and imaginary parts (a_hat, b_hat) of the 2-D Fourier transform of x (..., H, W) over its
    last two axes (eq. 8-9); orthonormal, so ``from_spectrum`` inverts it exactly."""
    z = torch.fft.rfft2(x.float(), norm="ortho")
    return z.real, z.imag


def from_spectrum(a: torch.Tensor, b: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The inverse transform of z = a + b j back to real features of spatial `size` (eq. 13)."""
    return torch.fft.irfft2(torch.complex(a, b), s=size, norm="ortho")


class SpectrumRefiner(nn.Module):
    """delta(leaky(f(.))) of eq. 11-12: a 1x1 CNN, LeakyReLU, the GAP + FC channel gate, a 1x1 CNN.
    Its output is added to its input by the branch (a = a_hat + ...)."""

    def __init__(self, channels: int, slope: float, reduction: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 1)
        self.act = nn.LeakyReLU(slope)
        self.gate = ChannelGate(channels, reduction)
        self.conv2 = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.gate(self.act(self.conv1(x))))


class SpatialCNN(nn.Module):
    """gamma of eq. 14: two 3x3 convolutions with a residual connection."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(torch.nn.functional.gelu(self.conv1(x)))


class FrequencyBranch(nn.Module):
    """F_frq = conv1x1([gamma(x); iFFT(a + b j)]) with a, b the refined real and imaginary parts (eq. 8-14)."""

    def __init__(self, channels: int, slope: float = 0.1, reduction: int = 8):
        super().__init__()
        self.real = SpectrumRefiner(channels, slope, reduction)  # eq. 11
        self.imag = SpectrumRefiner(channels, slope, reduction)  # eq. 12
        self.spatial = SpatialCNN(channels)  # gamma, eq. 14
        self.out_conv = nn.Conv2d(2 * channels, channels, 1)

    def frequency_features(self, x: torch.Tensor) -> torch.Tensor:
        """f(t) of eq. 13: the features with their spectrum refined."""
        a_hat, b_hat = spectrum(x)
        a = a_hat + self.real(a_hat)  # eq. 11
        b = b_hat + self.imag(b_hat)  # eq. 12
        return from_spectrum(a, b, x.shape[-2:]).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out_conv(torch.cat([self.spatial(x), self.frequency_features(x)], 1))  # eq. 14
