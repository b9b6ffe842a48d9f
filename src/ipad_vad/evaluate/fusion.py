"""One scale for a method's score components, set on normal footage only (issue 25).

A method with two components or more (IPAD-VAD: reconstruction error and period error E_p) sums them
weighted. Under the AUC protocols each component used to be min-max normalised over the test scene
first, so a component's weight in the sum depended on its range over the test footage — anomalies
included — rather than on how much it moves on normal footage. ``evaluate.fusion: normal`` puts each
component on the scale of the scene's normal training footage, scored by the same model:

    z_c(t) = (x_c(t) - median_c) / (1.4826 * MAD_c)        s(t) = sum_c w_c z_c(t)

A component that is quiet on normal footage and moves on an anomaly thus weighs more than one that
is noisy on normal footage too, whatever the test footage holds. Median and MAD, not mean and
standard deviation: E_p on normal footage is mostly small with rare spikes (a head that slips for a
few frames), which inflate a standard deviation. Measured (seed 0, IPAD-VAD): 63.2 -> 68.1 mean
AUC, against 67.3 with mean and standard deviation (docs/quality.md §9). The combined score is then
normalised by the protocol as before; each component's own AUC is unchanged (an increasing affine
map). A method with one component is ranked exactly as before.

The alert calibration (``alerts/calibration.py``) keeps its own mean and standard deviation of the
device's held-out footage: a threshold is a quantile of that footage's fused score, and its
hysteresis margin is in those units.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

MAD_TO_SD = 1.4826  # the MAD of a normal distribution times this is its standard deviation
SCALE_FLOOR = 1e-6  # a component constant on normal footage must not divide by 0


@dataclass(frozen=True)
class NormalScale:
    """Centre and scale of each component on normal footage, and how many clips they come from."""

    centre: Mapping[str, float]
    scale: Mapping[str, float]
    n_clips: int

    def standardise(self, name: str, values) -> np.ndarray:
        return (np.asarray(values, np.float64) - self.centre[name]) / self.scale[name]

    def to_dict(self) -> dict:
        return {"n_clips": self.n_clips, "centre": dict(self.centre), "scale": dict(self.scale)}


def normal_scale(values: Mapping[str, np.ndarray], names) -> NormalScale:
    """Median and MAD (as a standard deviation, floored) of each component in `names` over the raw
    values of normal footage (a DataFrame or a dict of arrays; NaN left out)."""
    centre, scale, n = {}, {}, 0
    for name in names:
        x = np.asarray(values[name], np.float64)
        x = x[np.isfinite(x)]
        if x.size == 0:
            raise ValueError(f"no normal values of score component {name!r} to scale it by")
        m = float(np.median(x))
        centre[name] = m
        scale[name] = max(MAD_TO_SD * float(np.median(np.abs(x - m))), SCALE_FLOOR)
        n = max(n, int(x.size))
    return NormalScale(centre, scale, n)
