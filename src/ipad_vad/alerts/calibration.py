"""Calibrated frame scores and the alert threshold of a device (issue 7).

The AUC protocols (``evaluate/protocols.py``) min-max normalise scores over a whole test set (scene
norm) or a whole video (video norm). A live stream has neither: when frame t arrives, the frames
after it do not exist yet. So at run time every score is standardised with statistics of *normal*
footage of the device, fixed once when the model is evaluated:

    z_r(t) = (-PSNR(t) - mu_r) / sd_r          reconstruction error of the centre frame (§4.3)
    z_p(t) = (E_p(t)  - mu_p) / sd_p           period error of the sliding window (eq. 7-8)
    s(t)   = (1 - w) z_r(t) + w z_p(t)         w = evaluate.period_weight, as in evaluation

and the threshold is the (1 - far) quantile of s over that normal footage: about a fraction `far`
(``alert.false_alarm_rate``) of normal frames score above it. Every video and stream of the device is
scored with the same affine map, so a score means the same thing everywhere.

Relation to the AUC protocols: each component is mapped by an increasing affine function, as under
scene norm; only the relative weight of the two components differs (1/sd instead of 1/range). With
one component (w = 0, or a model without a period head) the calibrated score ranks a scene's frames
exactly as scene norm does, so its AUC is the scene-norm AUC. Video norm has no run-time equivalent.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError

SD_FLOOR = 1e-6  # a constant component (e.g. a period head that never moves) must not divide by 0


@dataclass(frozen=True)
class Calibration:
    threshold: float
    false_alarm_rate: float
    recon_mean: float
    recon_std: float
    period_mean: float = 0.0
    period_std: float = 1.0
    period_weight: float = 0.0  # 0: reconstruction alone (no period head)
    n_classes: int = 0  # period classes; 0: no period head
    window: int = 5  # sliding window n (eq. 7)
    period_step: float = 1.0  # classes advanced per clip on a normal machine
    clip_len: int = 16
    frame_size: tuple[int, int] = (64, 64)  # (H, W) the model sees
    source_size: tuple[int, int] | None = None  # (H, W) of the device's footage (checked at scoring)
    min_frames: int = 2  # alert: at least this many frames above the threshold ...
    merge_gap: int = 8  # ... alerts closer than this many frames are one
    n_frames: int = 0  # normal frames the statistics come from
    source: str = ""  # which footage
    extra: dict = field(default_factory=dict)

    def score(self, psnr, period_error=None) -> np.ndarray:
        """s(t) for arrays of centre-frame PSNR and E_p (E_p ignored without a period head)."""
        z_r = (-np.asarray(psnr, np.float64) - self.recon_mean) / self.recon_std
        if not self.period_weight:
            return z_r
        z_p = (np.asarray(period_error, np.float64) - self.period_mean) / self.period_std
        return (1 - self.period_weight) * z_r + self.period_weight * z_p

    def to_dict(self) -> dict:
        d = asdict(self)
        d["frame_size"] = list(self.frame_size)
        d["source_size"] = list(self.source_size) if self.source_size else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Calibration":
        d = dict(d)
        d["frame_size"] = tuple(d["frame_size"])
        d["source_size"] = tuple(d["source_size"]) if d.get("source_size") else None
        return cls(**d)

    @classmethod
    def load(cls, path: str | Path) -> "Calibration":
        path = Path(path)
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise DataError(path, f"not a calibration file: {e}") from e


def fit_calibration(psnr: list[np.ndarray], period_errors: list[np.ndarray] | None, false_alarm_rate: float,
                    period_weight: float, **settings) -> Calibration:
    """Statistics and threshold from the per-video scores of normal footage. `period_errors` is
    None for models without a period head (the combination is then the reconstruction alone)."""
    if not 0 < false_alarm_rate < 1:
        raise ValueError(f"alert.false_alarm_rate must be in (0, 1), got {false_alarm_rate}")
    r = -np.concatenate([np.asarray(p, np.float64) for p in psnr])
    if r.size == 0:
        raise ValueError("no normal frames to calibrate on")
    stats = {"recon_mean": float(r.mean()), "recon_std": max(float(r.std()), SD_FLOOR)}
    if period_errors is not None and period_weight > 0:
        e = np.concatenate([np.asarray(p, np.float64) for p in period_errors])
        stats.update(period_mean=float(e.mean()), period_std=max(float(e.std()), SD_FLOOR), period_weight=period_weight)
    else:
        e = None
    draft = Calibration(threshold=0.0, false_alarm_rate=false_alarm_rate, n_frames=int(r.size), **stats, **settings)
    s = draft.score(-r, e)
    threshold = float(np.quantile(s, 1 - false_alarm_rate, method="higher"))
    return Calibration(**{**draft.__dict__, "threshold": threshold})
