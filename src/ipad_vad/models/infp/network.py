"""The INFP network (seed 001 §3, Figure 3): predict the next frame from the previous ones.

    frames I_v (N, 3, n_input, H, W)
      -> f_e per frame (wide_resnet.py)                      features at 1/2, 1/4, 1/8
      -> frames merged by a 1x1 convolution per scale        X = merge(f_e(I_v))
      -> F_st = X + merge(tsm(f_e(I_v)))                      eq. 15 (temporal_shift.py)
      -> F_mul = F_frq(X) + F_st                              eq. 16 (frequency_branch.py, eq. 8-14)
      -> M_e = F_fusion(F_mul)                                eq. 1-2, 17 (context_fusion.py)
      -> decoder: 3 x (transposed conv x2, BN, ReLU; channel attention, eq. 3), the merged 1/4 and
         1/2 features concatenated as skips (AstNet's decoder, on which INFP builds)
      -> trajectory filter F_filter                            eq. 4, 18-21 (trajectory_filter.py)
      -> 1x1 and 3x3 convolutions to the predicted frame (N, 3, H, W)

Table 2's ablations are settings: ``fusion: false`` drops the frequency branch and the context fusion
(M_e = F_st, the baseline's temporal features); ``filter: false`` drops the trajectory filter.
The merge is linear, so merge(X_frames + tsm(X_frames)) of eq. 15 is computed as X + merge(tsm(...)).
The output has no activation (as the official code; the targets are in [-1, 1]); scores clamp it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import nn

from ..shared_frames import shared_frames
from .channel_gate import ChannelGate
from .context_fusion import ContextFusion
from .frequency_branch import FrequencyBranch
from .temporal_shift import temporal_shift
from .trajectory_filter import TrajectoryFilter
from .wide_resnet import WideResNetEncoder


@dataclass(frozen=True)
class INFPConfig:
    size: tuple[int, int] = (64, 64)  # frame size (H, W), multiples of 8
    n_input: int = 4  # frames in; the next one is predicted
    widths: tuple[int, ...] = (16, 32, 64, 128)  # encoder stages (wide_resnet.py)
    blocks: tuple[int, ...] = (1, 1, 1, 2)
    encoder_dropout: float = 0.0  # Dropout2d in stages 5+ (WRN-38: 0.3, 0.5)
    merged: tuple[int, int, int] = (32, 64, 128)  # channels of the merged frames at 1/2, 1/4, 1/8
    decoder: tuple[int, int, int] = (64, 32, 32)  # channels out of the three upsampling steps
    shift_div: int = 8  # TSM: 1/shift_div of the channels shift each way
    bidirectional_shift: bool = True
    fusion: bool = True  # Table 2 "+Fusion": frequency branch + context fusion
    filter: bool = True  # Table 2 "+Filter": trajectory filter
    leaky_slope: float = 0.1  # eq. 11-12
    frequency_reduction: int = 8  # GAP + FC gate of eq. 11-12
    context_region: int = 5  # eq. 17: region A (a x a) ...
    context_sub: int = 1  # ... and its corner sub-regions
    context_reduction: int = 1  # eq. 17's Z_1, Z_2
    attention_reduction: int = 16  # eq. 3
    filter_count: int = 4  # eq. 20: N complex weights
    filter_expansion: int = 2  # eq. 18: Z_3 widens the channels by this
    filter_reduction: int = 4  # eq. 19: Z_4's hidden layer

    @classmethod
    def from_dict(cls, d: dict, **over) -> INFPConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            from ...errors import ConfigError

            raise ConfigError(f"methods.infp: unknown settings {unknown}; known: {sorted(known)}")
        vals = {k: tuple(v) if isinstance(v, list) else v for k, v in {**d, **over}.items() if k in known}
        return cls(**vals)


class Up(nn.Module):
    """Transposed convolution x2, BN, ReLU, then channel attention (eq. 3)."""

    def __init__(self, cin: int, cout: int, reduction: int):
        super().__init__()
        self.deconv = nn.ConvTranspose2d(cin, cout, 2, stride=2, bias=False)
        self.norm = nn.BatchNorm2d(cout)
        self.attention = ChannelGate(cout, reduction)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attention(torch.relu(self.norm(self.deconv(x))))


class Head(nn.Module):
    """Features to the frame: 1x1 and 3x3 convolutions with BN and ReLU, a 3x3 convolution to RGB."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.out_conv = nn.Conv2d(channels, 3, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out_conv(torch.relu(self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))))


class INFP(nn.Module):
    def __init__(self, cfg: INFPConfig):
        super().__init__()
        H, W = cfg.size
        if H % 8 or W % 8:
            raise ValueError(f"INFP: frame size {H}x{W} must be a multiple of 8 (clip.size)")
        self.cfg = cfg
        self.encoder = WideResNetEncoder(cfg.widths, cfg.blocks, cfg.encoder_dropout)
        T = cfg.n_input
        c2, c4, c8 = self.encoder.channels
        m2, m4, m8 = cfg.merged
        self.merge = nn.ModuleDict(
            {
                "s2": nn.Conv2d(T * c2, m2, 1, bias=False),
                "s4": nn.Conv2d(T * c4, m4, 1, bias=False),
                "s8": nn.Conv2d(T * c8, m8, 1, bias=False),
            }
        )
        self.frequency = FrequencyBranch(m8, cfg.leaky_slope, cfg.frequency_reduction) if cfg.fusion else None
        self.fusion = (
            ContextFusion(m8, cfg.context_region, cfg.context_sub, cfg.context_reduction) if cfg.fusion else None
        )
        d8, d4, d2 = cfg.decoder
        self.up8 = Up(m8, d8, cfg.attention_reduction)
        self.up4 = Up(d8 + m4, d4, cfg.attention_reduction)
        self.up2 = Up(d4 + m2, d2, cfg.attention_reduction)
        self.filter = (
            TrajectoryFilter(d2, (H, W), cfg.filter_count, cfg.filter_expansion, cfg.filter_reduction)
            if cfg.filter
            else None
        )
        self.head = Head(d2)

    def _merge(self, feats: torch.Tensor, scale: str) -> torch.Tensor:
        N, T, C, h, w = feats.shape
        return self.merge[scale](feats.reshape(N, T * C, h, w))

    def encode(self, frames: torch.Tensor) -> dict[str, torch.Tensor]:
        """M_e (eq. 1-2) and the skips from frames (N, 3, T, H, W)."""
        N, C, T, H, W = frames.shape
        if T != self.cfg.n_input:
            raise ValueError(f"INFP: {T} input frames, built for {self.cfg.n_input}")
        per_frame = frames.transpose(1, 2)  # N, T, C, H, W
        # f_e sees one frame at a time: a frame that overlapping clips share is encoded once (in eval
        # mode; training's batch statistics and dropout see every clip's frames, as always)
        if self.training:
            s2, s4, s8 = (f.reshape(N, T, *f.shape[1:]) for f in self.encoder(per_frame.reshape(N * T, C, H, W)))
        else:
            where, src = shared_frames(per_frame)
            s2, s4, s8 = (f[where] for f in self.encoder(per_frame[src[:, 0], src[:, 1]]))
        x = self._merge(s8, "s8")
        f_st = x + self._merge(temporal_shift(s8, self.cfg.shift_div, self.cfg.bidirectional_shift), "s8")  # eq. 15
        if self.fusion is not None:
            m_e = self.fusion(self.frequency(x) + f_st)  # eq. 16-17
        else:
            m_e = f_st
        return {"m_e": m_e, "s4": self._merge(s4, "s4"), "s2": self._merge(s2, "s2")}

    def forward(self, frames: torch.Tensor) -> dict:
        """frames (N, 3, n_input, H, W) in [-1, 1] -> {"pred": the next frame (N, 3, H, W)}."""
        e = self.encode(frames)
        y = self.up8(e["m_e"])
        y = self.up4(torch.cat([y, e["s4"]], 1))
        y = self.up2(torch.cat([y, e["s2"]], 1))  # M_ca, eq. 3
        if self.filter is not None:
            y = self.filter(y)  # eq. 4
        return {"pred": self.head(y)}
