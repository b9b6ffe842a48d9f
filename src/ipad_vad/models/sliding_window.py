"""Sliding-window period inspection (seed 000 §4.3, eq. 7-8).

For the clip centred on frame t, the window holds the period positions of its n neighbours
(eq. 7): T_p = [t_p^{t-(n-1)/2}, ..., t_p^{t+(n-1)/2}]. A normal machine advances through its cycle
at a steady rate, so the reference is the increasing sequence b^{t+i} = t_p^t + i*step, and

    E_p(t) = 1/n * sum_i | t_p^{t+i} - b^{t+i} |                               (eq. 8)

with the difference taken on the circle of `n_classes` positions: a phase going 199 -> 0 at the end of
a cycle is normal, not an error of 199. The paper's b assumes one class per clip (cycle length ≈
t_max frames); ``expected_step`` generalises it to n_classes * clip_stride / cycle_length when the
scene's cycle length is known. At the ends of a video the window is truncated.

Eq. 8 draws the reference through the centre clip's own t_p^t, so one noisy t_p^t adds its error to
all n terms. ``anchor="window"`` (a departure from the paper, ``evaluate.period_anchor``) draws the
line of the same slope through the circular mean of t_p^{t+i} - i*step over the window instead: the
offset that fits the whole window, which one slipped clip moves by 1/n (docs/quality.md §9:
IPAD-VAD 67.6 -> 69.2 over three seeds with n = 9, every seed up). ``anchor="centre"`` is eq. 8.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

Anchor = Literal["centre", "window"]
ANCHORS: tuple[Anchor, ...] = get_args(Anchor)


def expected_step(n_classes: int, clip_stride: int = 1, cycle_frames: float | None = None) -> float:
    """Period classes a normal machine advances between consecutive clips (1 in the paper)."""
    if not cycle_frames:
        return 1.0
    return n_classes * clip_stride / cycle_frames


def circular_distance(a, b, n_classes: int) -> np.ndarray:
    d = np.mod(np.asarray(a, np.float64) - np.asarray(b, np.float64), n_classes)
    return np.minimum(d, n_classes - d)


def circular_mean(a, n_classes: int) -> float:
    """Mean of positions on the circle of `n_classes` (the angle of the mean unit vector)."""
    angle = 2 * np.pi * np.asarray(a, np.float64) / n_classes
    return float(np.angle(np.exp(1j * angle).mean()) * n_classes / (2 * np.pi))


def period_error(t_p, n_classes: int, window: int = 5, step: float = 1.0, anchor: Anchor = "centre") -> np.ndarray:
    """E_p for every clip of one video, t_p given in temporal order (eq. 7-8)."""
    t_p = np.asarray(t_p, np.float64)
    if window < 1 or window % 2 == 0:
        raise ValueError("window must be a positive odd number")
    return np.array([period_error_at(t_p, t, n_classes, window, step, anchor) for t in range(len(t_p))])


def period_error_at(
    t_p, t: int, n_classes: int, window: int = 5, step: float = 1.0, anchor: Anchor = "centre"
) -> float:
    """E_p of clip `t` from the t_p values known so far (eq. 7-8); the window is truncated where
    `t_p` ends, so a stream that has seen (n-1)/2 clips past t gets exactly the offline value.
    `anchor`: the reference line drawn through t_p^t ("centre", eq. 8) or fitted to the window."""
    half = (window - 1) // 2
    lo, hi = max(0, t - half), min(len(t_p), t + half + 1)
    i = np.arange(lo, hi) - t
    seen = np.asarray(t_p[lo:hi], np.float64)
    if anchor == "centre":
        origin = seen[t - lo]  # eq. 8: b^{t+i} = t_p^t + i * step
    elif anchor == "window":
        origin = circular_mean(seen - i * step, n_classes)
    else:
        raise ValueError(f"anchor must be one of {ANCHORS}, got {anchor!r}")
    return float(circular_distance(seen, origin + i * step, n_classes).mean())
