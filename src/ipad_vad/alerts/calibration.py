"""Calibrated frame scores and the alert threshold of a device (issue 7), for any method.

The AUC protocols (``evaluate/protocols.py``) min-max normalise scores over a whole test set (scene
norm) or a whole video (video norm). A live stream has neither: when frame t arrives, the frames
after it do not exist yet. So at run time every score component c of the method (its named
components: reconstruction error, period error E_p, distance, ...) is standardised with statistics
of *normal* footage of the device, fixed once when the model is evaluated:

    z_c(t) = (x_c(t) - mu_c) / sd_c
    s(t)   = sum_c w_c z_c(t)          w_c = the method's component weights, as in evaluation

and the threshold is the (1 - far) quantile of s over that normal footage: about a fraction `far`
(``alert.false_alarm_rate``) of normal frames score above it. Every video and stream of the device is
scored with the same affine map, so a score means the same thing everywhere.

Relation to the AUC protocols: each component is mapped by an increasing affine function, as under
scene norm; only the relative weight of the components differs (1/sd instead of 1/range). With one
component (or one with non-zero weight) the calibrated score ranks a scene's frames exactly as scene
norm does, so its AUC is the scene-norm AUC. Video norm has no run-time equivalent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
from .tail import exponential_tail_threshold

SD_FLOOR = 1e-6  # a constant component (e.g. a period head that never moves) must not divide by 0


@dataclass(frozen=True)
class Calibration:
    method: str  # the method whose components these are
    threshold: float
    false_alarm_rate: float
    components: tuple[str, ...]  # the components in the score (weight > 0)
    means: tuple[float, ...]
    stds: tuple[float, ...]
    weights: tuple[float, ...]
    n_classes: int = 0  # ScoreContext of the window components: period classes (0: none) ...
    window: int = 5  # ... sliding window n (eq. 7) ...
    period_step: float = 1.0  # ... classes advanced per clip on a normal machine ...
    period_anchor: str = "centre"  # ... and the reference line's anchor (a calibration stored before it: eq. 8's)
    clip_len: int = 16
    frame_size: tuple[int, int] = (64, 64)  # (H, W) the model sees
    source_size: tuple[int, int] | None = None  # (H, W) of the device's footage (checked at scoring)
    min_frames: int = 2  # alert: at least this many frames above the threshold ...
    merge_gap: int = 8  # ... alerts closer than this many frames are one ...
    merge_stretch: float = 0.0  # ... an alert of n frames also gaps up to this * n (alert_tracker.py; 0: off) ...
    merge_gap_max: int = 0  # ... but never more than this many frames
    release: float | None = None  # hysteresis: an alert lasts while the evidence is above this (None: threshold)
    smooth: int = 1  # evidence: the mean of the last this many frame scores (1: the score itself)
    hold: float | None = None  # an alert's cold frames above this do not count towards its gap (None: off) ...
    hold_max: int = 0  # ... at most this many of them in one gap (0: no limit; alert_tracker.py)
    n_frames: int = 0  # normal frames the statistics come from
    source: str = ""  # which footage
    extra: dict = field(default_factory=dict)

    def score(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """s(t) from arrays of the raw component values (a DataFrame or a dict of arrays)."""
        total = None
        for name, mu, sd, w in zip(self.components, self.means, self.stds, self.weights):
            z = (np.asarray(values[name], np.float64) - mu) / sd
            total = w * z if total is None else total + w * z
        return total

    def basis(self) -> str:
        """What the threshold was set on, in a few words (``ipad score`` prints it)."""
        shift = self.extra.get("shift_calibration")
        if shift:
            read = (
                f", read by its exponential tail over {shift['alerts']} alerts"
                if "sigma" in shift  # alerts/tail.py fitted it
                else ""
            )
            return (
                f"at most {shift['alerts_per_hour']:g} alerts/h on {shift['hours']:g} h of normal calibration "
                f"footage{read}, {shift['alerts_on_footage']} there"
            )
        return f"false-alarm rate {self.false_alarm_rate:g} on {self.n_frames} normal frames"

    def context(self):
        from ..methods.base import ScoreContext

        return ScoreContext(self.n_classes, self.window, self.period_step, self.period_anchor)

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("components", "means", "stds", "weights", "frame_size"):
            d[k] = list(d[k])
        d["source_size"] = list(self.source_size) if self.source_size else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Calibration:
        d = dict(d)
        for k in ("components", "means", "stds", "weights", "frame_size"):
            d[k] = tuple(d[k])
        d["source_size"] = tuple(d["source_size"]) if d.get("source_size") else None
        return cls(**d)

    @classmethod
    def load(cls, path: str | Path) -> Calibration:
        path = Path(path)
        if not path.is_file():  # issue 29: a deleted file is missing, not "of another version"
            raise DataError(
                path,
                "calibration file is missing" if not path.exists() else "calibration file expected, found a folder",
            )
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise DataError(path, f"not a calibration file of this version of ipad-vad: {e}") from e


def fit_calibration(
    method: str,
    values: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    false_alarm_rate: float,
    release_margin: float = 0.0,
    hold_quantile: float = 0.0,
    **settings,
) -> Calibration:
    """Statistics and threshold from the raw component values of normal footage (one array per
    component, all videos concatenated). Components with weight 0 are left out. `release_margin` > 0:
    hysteresis, an alert lasts while the score is above ``threshold - release_margin`` (``release``;
    0: it ends below the threshold itself). `hold_quantile` > 0: ``hold`` is that quantile of the
    footage's scores (``hold_level``)."""
    if not 0 < false_alarm_rate < 1:
        raise ValueError(f"alert.false_alarm_rate must be in (0, 1), got {false_alarm_rate}")
    if release_margin < 0:
        raise ValueError(f"alert.release_margin must be >= 0, got {release_margin}")
    names = tuple(n for n, w in weights.items() if w > 0)
    if not names:
        raise ValueError("no score component with a positive weight")
    arrays = {n: np.asarray(values[n], np.float64) for n in names}
    n_frames = len(arrays[names[0]])
    if n_frames == 0:
        raise ValueError("no normal frames to calibrate on")
    draft = Calibration(
        method=method,
        threshold=0.0,
        false_alarm_rate=false_alarm_rate,
        components=names,
        means=tuple(float(a.mean()) for a in arrays.values()),
        stds=tuple(max(float(a.std()), SD_FLOOR) for a in arrays.values()),
        weights=tuple(float(weights[n]) for n in names),
        n_frames=n_frames,
        **settings,
    )
    s = draft.score(arrays)
    threshold = float(np.quantile(s, 1 - false_alarm_rate, method="higher"))
    release = threshold - release_margin if release_margin > 0 else None
    hold = hold_level(s, hold_quantile, threshold if release is None else release)
    return Calibration(**{**draft.__dict__, "threshold": threshold, "release": release, "hold": hold})


def hold_level(s: np.ndarray, quantile: float, release: float) -> float | None:
    """The score an alert's cold frames must fall to before they count towards its gap
    (``AlertTracker``'s ``hold``): the `quantile` of normal footage's scores `s` (NaN left out), what
    normal work exceeds a (1 - `quantile`) share of the time; never above the `release` (where it would
    hold nothing). None where `quantile` is 0 (off)."""
    if not 0 <= quantile < 1:
        raise ValueError(f"alert.hold_quantile must be in [0, 1), got {quantile}")
    if quantile == 0:
        return None
    s = np.asarray(s, np.float64)
    return min(float(np.quantile(s[~np.isnan(s)], quantile)), release)


def count_alerts(
    s: np.ndarray,
    threshold: float,
    min_frames: int,
    merge_gap: int,
    release_margin: float,
    smooth: int,
    merge_stretch: float = 0.0,
    merge_gap_max: int = 0,
    hold: float | None = None,
    hold_max: int = 0,
) -> int:
    from .alert_tracker import find_alerts

    idx = np.flatnonzero(~np.isnan(s))
    release = threshold - release_margin
    kw = dict(merge_stretch=merge_stretch, merge_gap_max=merge_gap_max, hold=hold, hold_max=hold_max)
    return len(find_alerts(idx, s[idx], threshold, min_frames, merge_gap, release, smooth, **kw))


def fit_shift_calibration(
    base: Calibration, values: Mapping[str, np.ndarray], alert, fps: float, source: str
) -> Calibration:
    """The alert threshold set on the tail of long normal footage (issue 26, 3): `base`'s affine map
    of the components, and the lowest threshold at which `base`'s tracker with ``alert``'s temporal
    evidence (``min_frames``, ``smooth``, ``release_margin``, ``merge_gap``, the hold) raises at most
    ``alert.alerts_per_hour`` alerts per nominal hour of `values` (one array per component, frames
    in order, NaN where no clip is centred; shift-length normal footage the evaluation never sees),
    raised by ``alert.threshold_margin`` calibrated units. Never below `base`'s threshold.

    Footage too short to hold ``alert.tail_alerts`` alerts at that rate (15 minutes hold none at 0.5
    an hour) is read by its tail instead (``alert.tail: exponential``, alerts/tail.py): the alerts
    above the lowest threshold with at most ``tail_alerts`` of them, extrapolated to the rate, so that
    the threshold is not simply the footage's highest peak; too few alerts there for a fit: as above."""
    s = np.asarray(base.score({n: np.asarray(values[n], np.float64) for n in base.components}), np.float64)
    n_ok = int(np.sum(~np.isnan(s)))
    if n_ok < alert.min_calibration_frames:
        raise ValueError(
            f"{source}: {n_ok} scored frames, fewer than alert.min_calibration_frames ({alert.min_calibration_frames})"
        )
    hours = n_ok / fps / 3600.0
    allowed = int(np.floor(alert.alerts_per_hour * hours))
    hold = hold_level(s, alert.hold_quantile, np.inf)  # this footage's own (at or above a release: no effect)
    kw = dict(
        min_frames=alert.min_frames,
        merge_gap=alert.merge_gap,
        release_margin=alert.release_margin,
        smooth=alert.smooth,
        merge_stretch=alert.merge_stretch,
        merge_gap_max=alert.merge_gap_max,
        hold=hold,
        hold_max=alert.hold_max,
    )
    above = np.unique(s[~np.isnan(s)])
    above = above[above > base.threshold]  # the held-out threshold is the lowest candidate (until 2026-12-04 a
    # footage whose scores all lay below it got its own maximum: a threshold below the held-out one)
    cand = np.concatenate([[base.threshold], above, [above.max() + 1e-6] if above.size else []])

    def lowest(k: int) -> float:
        """The lowest candidate with at most `k` alerts (counts fall as it rises)."""
        lo, hi = 0, len(cand) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if count_alerts(s, float(cand[mid]), **kw) <= k:
                hi = mid
            else:
                lo = mid + 1
        return float(cand[lo])

    threshold = lowest(allowed)
    tail = None
    if alert.tail == "exponential" and allowed < alert.tail_alerts:
        # u from the same candidates, at or above the held-out threshold: below it hysteresis and the merge gap
        # join the body's frames into few long alerts, the counts stop falling as the threshold rises, and the
        # search would land in the body (tried on the alert benchmark: every fit then failed, 2026-12-06)
        tail = exponential_tail_threshold(
            s, lowest(alert.tail_alerts), alert.alerts_per_hour, hours, lambda x, t: count_alerts(x, t, **kw)
        )
    tail_record = {"tail": alert.tail, "empirical_threshold": threshold}
    if tail is not None:
        threshold = max(tail.threshold, base.threshold)
        tail_record.update(tail.to_dict())
    threshold += alert.threshold_margin
    return Calibration(
        **{
            **base.__dict__,
            "threshold": threshold,
            "release": threshold - alert.release_margin,
            "smooth": alert.smooth,
            "min_frames": alert.min_frames,
            "merge_gap": alert.merge_gap,
            "merge_stretch": alert.merge_stretch,
            "merge_gap_max": alert.merge_gap_max,
            "hold": None if hold is None else min(hold, threshold - alert.release_margin),
            "hold_max": alert.hold_max,
            "n_frames": n_ok,
            "source": source,
            "extra": {
                **base.extra,
                "shift_calibration": {
                    "hours": round(hours, 3),
                    "alerts_per_hour": alert.alerts_per_hour,
                    "alerts_on_footage": count_alerts(s, threshold, **kw),
                    "threshold_margin": alert.threshold_margin,
                    "release_margin": alert.release_margin,
                    "smooth": alert.smooth,
                    "min_frames": alert.min_frames,
                    "merge_gap": alert.merge_gap,
                    "merge_stretch": alert.merge_stretch,
                    "merge_gap_max": alert.merge_gap_max,
                    "hold_quantile": alert.hold_quantile,
                    "hold_max": alert.hold_max,
                    "base_threshold": base.threshold,
                    "base_source": base.source,
                    "base_release": base.release,
                    "base_n_frames": base.n_frames,
                    "base_smooth": base.smooth,
                    "base_min_frames": base.min_frames,
                    "base_merge_gap": base.merge_gap,
                    "base_merge_stretch": base.merge_stretch,
                    "base_merge_gap_max": base.merge_gap_max,
                    "base_hold": base.hold,
                    "base_hold_max": base.hold_max,
                    **tail_record,
                },
            },
        }
    )


def heldout_calibration(cal: Calibration) -> Calibration:
    """The calibration a threshold set on long normal footage replaced (`fit_shift_calibration` records
    it; the affine map is the same): `cal` itself when it was not set on such footage."""
    shift = cal.extra.get("shift_calibration")
    if not shift:
        return cal
    return Calibration(
        **{
            **cal.__dict__,
            "threshold": shift["base_threshold"],
            "release": shift["base_release"],
            "n_frames": shift["base_n_frames"],
            "smooth": shift["base_smooth"],
            "min_frames": shift["base_min_frames"],
            "merge_gap": shift["base_merge_gap"],
            "merge_stretch": shift.get("base_merge_stretch", 0.0),  # recorded since 2026-12-07
            "merge_gap_max": shift.get("base_merge_gap_max", 0),
            "hold": shift.get("base_hold"),  # recorded since 2026-12-07 (the thirty-first session)
            "hold_max": shift.get("base_hold_max", 0),
            "source": shift["base_source"],
            "extra": {k: v for k, v in cal.extra.items() if k != "shift_calibration"},
        }
    )
