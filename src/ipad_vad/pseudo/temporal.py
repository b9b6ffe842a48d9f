"""Temporal pseudo-anomalies: the optical flow of a normal clip perturbed by mixup (seed 002 §3.3,
eq. 3), and frames skipped, repeated or reversed (the skip-frame PAs of LNTRA [4] that seed 002
builds on).

Flow mixup: a box p' of the flow field - around the moving part (a pixel drawn with probability
proportional to the flow's magnitude) - is replaced by p^ = lambda p' + (1 - lambda) p'_r, p'_r a box
of the same size at a random place of the same field, lambda ~ Beta(alpha, alpha) as in mixup [103];
the same boxes and lambda in every flow field of the clip, so the part moves as it should not for
the whole clip. Only p' changes (bit-exact elsewhere).

The flow of a clip is computed with the prepare stage's function and settings
(``preprocess/optical_flow.clip_flow``, ``optical_flow.method``/``size``: DIS, or TV-L1 as the paper)
from the clip's own frames, not read from the prepare stage's files: scoring (``ipad score``, a live
stream) has frames only, and a method must score the same way it trained.
"""

from __future__ import annotations

import numpy as np

from .settings import PseudoSettings


def flow_mixup(flow: np.ndarray, rng: np.random.Generator, s: PseudoSettings) -> tuple[np.ndarray, np.ndarray]:
    """(PA flow, box mask (h, w) bool) of flow fields `flow` (T', h, w, 2) (eq. 3)."""
    h, w = flow.shape[1:3]
    side = rng.uniform(*s.flow_box)
    bh, bw = max(1, int(round(side * h))), max(1, int(round(side * w)))
    mag = np.sqrt((flow.astype(np.float64) ** 2).sum(-1)).sum(0)  # (h, w) motion over the clip
    if mag.sum() > 0:
        k = rng.choice(h * w, p=(mag / mag.sum()).ravel())
        cy, cx = divmod(int(k), w)
    else:
        cy, cx = int(rng.integers(h)), int(rng.integers(w))
    y0, x0 = int(np.clip(cy - bh // 2, 0, h - bh)), int(np.clip(cx - bw // 2, 0, w - bw))
    ry, rx = int(rng.integers(h - bh + 1)), int(rng.integers(w - bw + 1))
    lam = float(rng.beta(s.mixup_alpha, s.mixup_alpha))
    out = flow.copy()
    out[:, y0 : y0 + bh, x0 : x0 + bw] = (
        lam * flow[:, y0 : y0 + bh, x0 : x0 + bw] + (1 - lam) * flow[:, ry : ry + bh, rx : rx + bw]
    ).astype(flow.dtype)
    box = np.zeros((h, w), bool)
    box[y0 : y0 + bh, x0 : x0 + bw] = True
    return out, box


def order_indices(t: int, kind: str, stride: int) -> np.ndarray:
    """Frame indices of a frame-order PA of a clip of `t` frames, anchored at its centre frame c = t // 2
    (the frame the clip's score stands for stays in place): ``skip``: c + (i - c) * stride (the machine
    `stride` times too fast), ``repeat``: c + floor((i - c) / stride) (too slow, each frame held), ``reverse``:
    2c - i (backwards); clamped to the clip (its ends hold)."""
    i, c = np.arange(t), t // 2
    if kind == "skip":
        idx = c + (i - c) * stride
    elif kind == "repeat":
        idx = c + np.floor_divide(i - c, stride)
    elif kind == "reverse":
        idx = 2 * c - i
    else:
        raise ValueError(f"frame-order PA: unknown kind {kind!r}")
    return np.clip(idx, 0, t - 1)


def frame_order_pa(t: int, rng: np.random.Generator, s: PseudoSettings) -> tuple[str, np.ndarray]:
    """A frame-order PA drawn from ``s.order``: (its kind, the frame indices)."""
    kind = str(s.order[rng.integers(len(s.order))])
    stride = int(rng.integers(2, s.max_stride + 1))
    return kind, order_indices(t, kind, stride)
