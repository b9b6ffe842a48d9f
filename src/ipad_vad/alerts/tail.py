"""The alert threshold for a rate the calibration footage is too short to show (issue 26, 3).

A device's calibration footage is often short next to the rate it is calibrated for: 15 minutes for
``alert.alerts_per_hour`` = 0.5 allow no alert at all, so the lowest threshold with "at most that many"
alerts is the footage's highest alert-shaped peak — whichever event happened to be filmed decides it
(docs/alerts.md: one walker or none set R02's threshold 7 to 16 calibrated units above the held-out
one). Peaks over a threshold (extreme-value theory) read the tail instead of its last point: below a
level u the footage raises n_u alerts; as the threshold t rises above u each of them ends at the
lowest t at which it is no longer an alert (its *survival level*), and for a light tail those excesses
over u are exponential with mean sigma (the generalised Pareto law with shape 0). The alert rate
above u then falls as

    rate(t) = n_u / hours * exp(-(t - u) / sigma)

and the threshold for the asked rate r is t = u + sigma * ln(n_u / (hours * r)). sigma is the
maximum-likelihood estimate, the mean excess. The survival levels are read off the alert tracker
itself (``count_alerts`` at every score above u), so the required frames, the merge gap, the
hysteresis and the smoothing count exactly as at run time. Normal footage only; no label is read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

MIN_TAIL_ALERTS = 3  # fewer alerts above u give no estimate of sigma worth extrapolating


@dataclass(frozen=True)
class TailFit:
    level: float  # u
    alerts: int  # n_u: alerts the footage raises at u
    sigma: float  # the mean excess of their survival levels over u (calibrated units)
    threshold: float  # u + sigma ln(n_u / (hours r))

    def to_dict(self) -> dict:
        return asdict(self)


def survival_levels(levels: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Where each alert counted at ``levels[0]`` ends as the threshold rises: `counts` are the alerts
    at each ascending level — the scores themselves, and a frame counts when it is above the threshold,
    so an alert last counted below a level ends at that level's score (its own peak, or its
    ``min_frames``-th highest frame). The counts are made non-increasing first: hysteresis can split an
    alert as the threshold rises, which adds no alert of the tail. Any still counted at the top end there."""
    c = np.minimum.accumulate(np.asarray(counts, dtype=np.int64))
    ends = np.repeat(levels[1:], c[:-1] - c[1:])
    return np.concatenate([ends, np.repeat(levels[-1:], c[-1])])


def exponential_tail_threshold(
    s: np.ndarray, level: float, rate: float, hours: float, count: Callable[[np.ndarray, float], int]
) -> TailFit | None:
    """The threshold at which `count` (the alert tracker over the scores `s`) would raise `rate`
    alerts per hour, extrapolated from the alerts above `level` (u) over `hours` of footage; None when
    fewer than ``MIN_TAIL_ALERTS`` are raised there or they all end at u (nothing to fit)."""
    v = s[~np.isnan(s)]
    levels = np.unique(v[v >= level])
    if levels.size == 0 or levels[0] > level:
        levels = np.concatenate([[level], levels])
    counts = np.array([count(s, float(t)) for t in levels])
    n = int(counts[0])
    if n < MIN_TAIL_ALERTS or rate <= 0:
        return None
    sigma = float(np.mean(survival_levels(levels, counts) - level))
    if sigma <= 0:
        return None
    return TailFit(float(level), n, sigma, float(level + sigma * np.log(max(n / (hours * rate), 1.0))))
