"""Sliding-window period inspection (seed 000 §4.3, eq. 7-8).

For the clip centred on frame t, the window holds the period positions of its n neighbours
(eq. 7): T_p = [t_p^{t-(n-1)/2}, ..., t_p^{t+(n-1)/2}]. A normal machine advances through its cycle
at a steady rate, so the reference is the increasing sequence b^{t+i} = t_p^t + i*step, and

    E_p(t) = 1/n * sum_i | t_p^{t+i} - b^{t+i} |                               (eq. 8)

with the difference taken on the circle of `n_classes` positions: a phase going 199 -> 0 at the end of
a cycle is normal, not an error of 199. The paper's b assumes one class per clip (cycle length ≈
t_max frames); ``expected_step`` generalises it to n_classes * clip_stride / cycle_length when the
scene's cycle length is known. At the ends of a video the window is truncated.
"""

from __future__ import annotations

import numpy as np


def expected_step(n_classes: int, clip_stride: int = 1, cycle_frames: float | None = None) -> float:
    """Period classes a normal machine advances between consecutive clips (1 in the paper)."""
    if not cycle_frames:
        return 1.0
    return n_classes * clip_stride / cycle_frames


def circular_distance(a, b, n_classes: int) -> np.ndarray:
    d = np.mod(np.asarray(a, np.float64) - np.asarray(b, np.float64), n_classes)
    return np.minimum(d, n_classes - d)


def period_error(t_p, n_classes: int, window: int = 5, step: float = 1.0) -> np.ndarray:
    """E_p for every clip of one video, t_p given in temporal order (eq. 7-8)."""
    t_p = np.asarray(t_p, np.float64)
    if window < 1 or window % 2 == 0:
        raise ValueError("window must be a positive odd number")
    return np.array([period_error_at(t_p, t, n_classes, window, step) for t in range(len(t_p))])


def period_error_at(t_p, t: int, n_classes: int, window: int = 5, step: float = 1.0) -> float:
    """E_p of clip `t` from the t_p values known so far (eq. 7-8); the window is truncated where
    `t_p` ends, so a stream that has seen (n-1)/2 clips past t gets exactly the offline value."""
    half = (window - 1) // 2
    lo, hi = max(0, t - half), min(len(t_p), t + half + 1)
    i = np.arange(lo, hi) - t
    b = t_p[t] + i * step  # the reference sequence through t_p^t
    return float(circular_distance(np.asarray(t_p[lo:hi], np.float64), b, n_classes).mean())
