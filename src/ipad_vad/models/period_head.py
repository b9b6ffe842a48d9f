"""Period classification head f_p (seed 000 §4.2, eq. 2): the clip's relative position in its cycle
as one of `n_classes` (paper: 200) classes. P_s = softmax(f_p(F)); t_p = argmax P_s.

The paper leaves f_p's form open. The features F are pooled to a ``pool`` = (D, h, w) grid before the
linear layer. (1, 1, 1), one vector per clip, averages away where the parts are and which way they
move: the very things that tell the phase. Linear probes on the demo base's encoder showed it: 5 to
12 % of normal test clips within ±5 % of a cycle on the pooled vector (chance: 10 %), 62 to 90 % on
its time steps and cells (issue 25; docs/quality.md §8). ``channels`` > 0 projects the features first
(a 1x1x1 convolution): a small head, fitted better from a device's few clips.

Reading t_p off P_s. The paper takes its argmax (eq. 2), a whole class. The classes lie on a circle
(the cycle wraps), so P_s also has a circular mean (``circular_mean_phase``, a departure from the paper,
``methods.ipad_vad.period.readout``):

    t_p = n/(2 pi) * arg( sum_k P_s(k) e^{2 pi i k / n} )  mod n

a position between classes, which a second mode of P_s pulls towards it instead of making t_p jump to
it (docs/quality.md §18)."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

PHASE_TOLERANCE = 0.05  # issue 25: a period head is a clock when t_p is "within ±5 % of a cycle"


class PeriodHead(nn.Module):
    def __init__(
        self,
        in_dim: int,
        n_classes: int = 200,
        hidden: int = 0,
        pool: tuple[int, int, int] = (1, 1, 1),
        channels: int = 0,
    ):
        """`channels` > 0: the features first projected to that many channels (a 1x1x1 convolution), so
        that the head stays small when ``pool`` keeps a grid (LoRA trains and saves it per device)."""
        super().__init__()
        self.n_classes = n_classes
        self.reduce = nn.Conv3d(in_dim, channels, 1) if channels else nn.Identity()
        self.pool = nn.AdaptiveAvgPool3d(tuple(pool))
        dim = (channels or in_dim) * math.prod(pool)
        self.norm = nn.LayerNorm(dim)
        layers = (
            [nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, n_classes)] if hidden else [nn.Linear(dim, n_classes)]
        )
        self.fc = nn.Sequential(*layers)

    def forward(self, f: torch.Tensor) -> torch.Tensor:  # (B, C, D, H, W) -> logits (B, n_classes)
        return self.fc(self.norm(self.pool(self.reduce(f)).flatten(1)))


def circular_mean_phase(logits: torch.Tensor) -> torch.Tensor:
    """The circular mean of the classes under softmax(`logits`) (module docstring), in class units in
    [0, n): (..., n) -> (...), float. Class k stands for position k, so a mass on 199 and 0 of 200
    classes reads 199.5, not 99.5."""
    p = logits.float().softmax(-1)
    n = p.shape[-1]
    angle = torch.arange(n, device=p.device, dtype=torch.float32) * (2 * math.pi / n)
    y, x = p @ torch.sin(angle), p @ torch.cos(angle)
    return torch.remainder(torch.atan2(y, x) * (n / (2 * math.pi)), n)


def phase_accuracy(t_p: np.ndarray, phase: np.ndarray, label: np.ndarray, n_classes: int) -> dict | None:
    """How well the period head tells the phase on normal clips with a known phase: the share whose
    t_p is the phase's class, the share within ±PHASE_TOLERANCE of a cycle (circularly), the mean
    circular error in cycles; None without such clips. A class stands for its centre, so class targets
    k are passed as phases (k + 0.5) / n_classes (``train/period_head_fit.py``); a t_p between classes
    (``circular_mean_phase``) is exact when it rounds to the phase's class."""
    ok = (label == 0) & np.isfinite(phase)
    if not ok.any():
        return None
    t, ph = np.asarray(t_p)[ok], np.asarray(phase)[ok]
    diff = np.abs((t + 0.5) / n_classes - ph)  # a class stands for its centre
    circ = np.minimum(diff, 1 - diff)
    return {
        "clips": int(ok.sum()),
        "exact_class": float((np.floor(ph * n_classes) == np.mod(np.rint(t), n_classes)).mean()),
        "within_tolerance": float((circ <= PHASE_TOLERANCE).mean()),
        "tolerance": PHASE_TOLERANCE,
        "mean_circular_error": float(circ.mean()),
    }


def period_targets(phase: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Class of a phase in [0, 1): floor(phase * n_classes); -1 (ignored by the loss) when unknown."""
    target = torch.floor(phase.clamp(0, 1 - 1e-9) * n_classes).long()
    return torch.where(torch.isnan(phase), torch.full_like(target, -1), target)


def period_soft_targets(target: torch.Tensor, n_classes: int, sigma: float) -> torch.Tensor:
    """Each class target (B,) as a distribution over the classes (B, n_classes): a circular Gaussian of
    standard deviation `sigma` classes around it (the cycle wraps: the last class is next to the first),
    normalised; `sigma` 0: one-hot."""
    if sigma <= 0:
        return torch.nn.functional.one_hot(target, n_classes).float()
    k = torch.arange(n_classes, device=target.device)
    d = (k[None, :] - target[:, None]).abs()
    d = torch.minimum(d, n_classes - d).float()
    w = torch.exp(-0.5 * (d / sigma) ** 2)
    return w / w.sum(-1, keepdim=True)


def official_period_targets(frame_idx: torch.Tensor, video_len: torch.Tensor, n_classes: int) -> torch.Tensor:
    """The official code's fallback target, `frame_idx * 200 // len(video)`: position in the video, not
    in the cycle; used when a video has no period annotation and `period.target: official`."""
    return (frame_idx * n_classes // video_len).long().clamp(0, n_classes - 1)
