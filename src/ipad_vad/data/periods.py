"""Period annotations `periods/<split>_<NN>.json` = {"cycle_starts": [...], "fps": ...} and the
phase of every frame in its cycle (0 at a cycle start, rising to 1 at the next one).

Frames before the first annotated start and after the last one are extrapolated with the nearest
cycle's length, so every frame has a phase. The period class of the paper (200 relative positions,
seed 000 §4.2) is ``floor(phase * n_classes)``; the model side owns that mapping.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import DataError


def read_period_file(path: str | Path) -> dict:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise DataError(path, f"cannot read period annotation: {e}") from e
    starts = data.get("cycle_starts")
    if not isinstance(starts, list) or len(starts) < 2 or any(not isinstance(s, int) for s in starts):
        raise DataError(path, "cycle_starts must be a list of at least 2 integer frame numbers")
    if any(b <= a for a, b in zip(starts, starts[1:])):
        raise DataError(path, "cycle_starts must be strictly increasing")
    return data


def frame_phases(cycle_starts: list[int], n_frames: int) -> np.ndarray:
    """Phase in [0, 1) of each of `n_frames` frames given the cycle start frames."""
    s = np.asarray(cycle_starts, dtype=np.float64)
    if s.size < 2:
        raise ValueError("need at least two cycle starts")
    f = np.arange(n_frames, dtype=np.float64)
    k = np.clip(np.searchsorted(s, f, side="right") - 1, 0, s.size - 2)  # cycle index per frame
    lengths = np.diff(s)
    phase = (f - s[k]) / lengths[k]
    return np.mod(phase, 1.0)
