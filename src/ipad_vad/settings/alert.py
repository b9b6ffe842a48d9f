"""``alert:``: the alert threshold shipped with each registered device model (alerts/calibration.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ._base import Float, NonNeg, NonNegFloat, Pos, Section


class Alert(Section):
    false_alarm_rate: Annotated[Float, Field(gt=0, lt=1)] = 0.005  # share of held-out normal frames above it
    min_frames: Pos = 2  # an alert needs this many frames above the threshold ...
    merge_gap: NonNeg = 8  # ... and alerts closer than this many frames are one ...
    # ... and an alert that has lasted n frames also takes in gaps of up to merge_stretch * n frames, at most
    # merge_gap_max (alerts/alert_tracker.py: a machine stopped for minutes dipping under the release is one
    # alert; docs/alerts.md: operator feedback 0.71x -> 0.58x, the default shifts' figures unchanged; 0: off)
    merge_stretch: NonNegFloat = 0.25
    merge_gap_max: NonNeg = 60
    min_calibration_frames: Pos = 32  # fewer held-out frames: calibrate on all training footage
    # leave the training recordings made from marked false alarms (operator feedback; manifest origin
    # false_alarm) out of the held-out calibration: chosen for scoring high, they are no sample of normal work
    heldout_skips_marked: bool = True
    # issue 26: the threshold set on long normal footage (alerts/calibration.fit_shift_calibration)
    alerts_per_hour: NonNegFloat = 0.5  # at most this many alerts per nominal hour of that footage ...
    threshold_margin: Float = 0.0  # ... then raised by this (calibrated units)
    # footage too short to hold tail_alerts alerts at that rate (alerts/tail.py): exponential = the alerts above
    # the lowest threshold with at most tail_alerts of them, extrapolated to the rate (peaks over a threshold) |
    # empirical = the rate read off the footage itself (at 15 minutes: its highest alert-shaped peak)
    tail: Literal["exponential", "empirical"] = "exponential"
    tail_alerts: Pos = 10
    # hysteresis, shipped and shift-set thresholds: an alert ends below threshold - this (calibrated units;
    # docs/alerts.md: 1 cuts false alerts per camera-hour, spans unchanged; 2 and more hold alerts open for minutes)
    release_margin: NonNegFloat = 1.0
    smooth: Pos = 1  # evidence: the mean of this many frame scores
    # an alert under way: a cold frame still above the hold_quantile quantile of the calibration footage's scores
    # (what normal work exceeds 1 % of the time) does not count towards the gap that ends it, for at most hold_max
    # frames in one gap (alerts/alert_tracker.py: a machine stopped for minutes is one alert; docs/alerts.md; 0: off)
    hold_quantile: Annotated[Float, Field(ge=0, lt=1)] = 0.99
    hold_max: NonNeg = 240
