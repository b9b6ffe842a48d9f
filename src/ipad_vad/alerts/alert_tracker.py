"""Alert spans in a stream of frame scores.

A frame is *hot* when its calibrated score is above the threshold. Hot frames separated by at most
`merge_gap` cold frames belong to one span; a span becomes an alert once it holds `min_frames` hot
frames (isolated single-frame blips do not page anyone). The tracker works online, one frame at a
time, and reports the start of an alert as soon as it is known and its end once `merge_gap` cold
frames have followed it. `find_alerts` runs the same tracker over a whole array, so file scoring and
streaming give the same alerts by construction.

Temporal evidence (issue 26), all off by default (the tracker of issue 7):

* ``smooth`` = k > 1: a frame is hot when the mean of the last k scores fed (its own included, NaNs
  left out) is above the threshold - evidence accumulated over frames, causal, so streaming and
  file scoring still agree;
* ``release`` (hysteresis): once an alert has started, frames stay hot while that evidence is above
  ``release`` (<= threshold), so an alert does not break up and re-raise while a problem lasts;
* ``merge_stretch`` = r > 0 (off by default): an alert that has lasted n frames also takes in gaps of
  up to r * n cold frames (never fewer than ``merge_gap``, at most ``merge_gap_max``) - a condition
  that persists (a machine stopped for minutes) and dips under the release now and then stays one
  alert, while a short alert keeps ``merge_gap`` (the off-delay of alarm management, made to grow
  with the alarm it holds);
* ``hold`` (off by default): once an alert has started, a cold frame whose evidence is still above
  ``hold`` (below the release; calibrated as a high quantile of normal footage's scores,
  ``alert.hold_quantile``) neither extends the alert nor counts towards the gap that ends it - for at
  most ``hold_max`` such frames in one gap (0: no limit). A machine stopped for minutes whose score
  peaks now and then, and between the peaks stays above anything normal work shows, is one alert; a
  gap at normal scores ends it as before.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass


@dataclass
class Alert:
    start: int  # first hot frame
    end: int  # last hot frame (inclusive)
    peak_frame: int
    peak_score: float
    hot_frames: int

    def to_dict(self, fps: float | None = None) -> dict:
        d = asdict(self)
        if fps:
            d.update(start_s=round(self.start / fps, 3), end_s=round((self.end + 1) / fps, 3))
        return d


@dataclass
class AlertEvent:
    kind: str  # "start" | "end"
    alert: Alert
    at_frame: int  # the frame whose score made the event known
    arrived: int | None = None  # streaming: the last frame that had arrived when it was raised


class AlertTracker:
    # what a calibration sets (``from_calibration``; ``adopt`` takes them over mid-stream)
    SETTINGS = ("threshold", "min_frames", "merge_gap", "release", "merge_stretch", "merge_gap_max", "hold", "hold_max")

    def __init__(
        self,
        threshold: float,
        min_frames: int = 2,
        merge_gap: int = 8,
        release: float | None = None,
        smooth: int = 1,
        *,
        merge_stretch: float = 0.0,
        merge_gap_max: int = 0,
        hold: float | None = None,
        hold_max: int = 0,
    ):
        if min(merge_gap, merge_stretch, merge_gap_max, hold_max) < 0 or min_frames < 1 or smooth < 1:
            raise ValueError(
                "min_frames and smooth must be >= 1, merge_gap, merge_stretch, merge_gap_max and hold_max >= 0"
            )
        if release is not None and release > threshold:
            raise ValueError(f"release ({release}) must not be above the threshold ({threshold})")
        self.threshold, self.min_frames, self.merge_gap = threshold, min_frames, merge_gap
        self.merge_stretch, self.merge_gap_max = merge_stretch, merge_gap_max
        self.hold, self.hold_max = hold, hold_max
        self.release = threshold if release is None else release
        self._recent: deque[float] = deque(maxlen=smooth)
        self._span: Alert | None = None
        self._started = False
        self._quiet = 0  # cold frames since the open span's last hot frame that count towards its gap
        self._held = 0  # cold frames since then that did not (above the hold)
        self._last_frame = -1
        self.alerts: list[Alert] = []

    def update(self, frame: int, score: float) -> list[AlertEvent]:
        """Feed the score of `frame` (frames in increasing order); returns the events it causes."""
        if frame <= self._last_frame:
            raise ValueError(f"frames must increase: got {frame} after {self._last_frame}")
        skipped, self._last_frame = frame - self._last_frame - 1, frame
        events: list[AlertEvent] = []
        span = self._span
        if span is not None:
            self._quiet += skipped  # frames never fed count as cold
            if self._quiet > self.gap():
                events += self._close(frame - 1)  # frames were skipped: the gap is over
                span = None
        if not math.isnan(score):
            self._recent.append(float(score))
        evidence = sum(self._recent) / len(self._recent) if self._recent and not math.isnan(score) else math.nan
        hot = not math.isnan(evidence) and evidence > (self.release if self._started else self.threshold)
        if hot:
            if span is None:
                span = self._span = Alert(frame, frame, frame, float(score), 0)
            span.end, span.hot_frames = frame, span.hot_frames + 1
            self._quiet = self._held = 0
            if score > span.peak_score:
                span.peak_frame, span.peak_score = frame, float(score)
            if not self._started and span.hot_frames >= self.min_frames:
                self._started = True
                events.append(AlertEvent("start", Alert(**asdict(span)), frame))
        elif span is not None:
            if self._holds(evidence):
                self._held += 1
            else:
                self._quiet += 1
            if self._quiet > self.gap():
                events += self._close(frame)
        return events

    def _holds(self, evidence: float) -> bool:
        """Whether a cold frame of an alert under way is held: its evidence above ``hold``, and fewer
        than ``hold_max`` frames of this gap held before it."""
        if self.hold is None or not self._started or math.isnan(evidence) or evidence <= self.hold:
            return False
        return self.hold_max == 0 or self._held < self.hold_max

    def gap(self) -> int:
        """How many cold frames after its last hot frame still continue the open span: ``merge_gap``, or
        for an alert that has lasted n frames ``merge_stretch`` * n, between ``merge_gap`` and
        ``merge_gap_max``."""
        span = self._span
        if span is None or not self._started or self.merge_stretch <= 0:
            return self.merge_gap
        stretched = min(self.merge_gap_max, int(self.merge_stretch * (span.end - span.start + 1)))
        return max(self.merge_gap, stretched)

    def unsettled_from(self) -> int | None:
        """The first frame fed whose place in an alert may still change (None: none). An open span
        that is not yet an alert may become one, from its first hot frame; one that is can still grow
        after its last hot frame. `ipad serve` writes a frame's alert column once it is settled."""
        if self._span is None:
            return None
        return self._span.end + 1 if self._started else self._span.start

    def close(self) -> list[AlertEvent]:
        """End of the stream: an open alert ends at its last hot frame."""
        return self._close(self._last_frame)

    def _close(self, at: int) -> list[AlertEvent]:
        span, started = self._span, self._started
        self._span, self._started, self._quiet, self._held = None, False, 0, 0
        if span is None or not started:
            return []
        self.alerts.append(span)
        return [AlertEvent("end", span, at)]

    def adopt(self, other: AlertTracker) -> None:
        """Go on under `other`'s settings (a new calibration's tracker: ``ipad serve`` swapping in a new
        champion): an alert under way stays open and is judged by them from the next frame; the
        evidence keeps the last scores it holds, up to `other`'s ``smooth``."""
        for k in self.SETTINGS:
            setattr(self, k, getattr(other, k))
        self._recent = deque(self._recent, maxlen=other._recent.maxlen)

    @classmethod
    def from_calibration(cls, cal, offset: float = 0.0) -> AlertTracker:
        """The tracker a calibration (``alerts/calibration.Calibration``) ships, its threshold (and
        release) moved by `offset` calibrated units (the benchmark's trade-off curve)."""
        release = None if cal.release is None else cal.release + offset
        return cls(
            cal.threshold + offset,
            cal.min_frames,
            cal.merge_gap,
            release,
            cal.smooth,
            merge_stretch=cal.merge_stretch,
            merge_gap_max=cal.merge_gap_max,
            hold=cal.hold,
            hold_max=cal.hold_max,
        )


def feed_all(tracker: AlertTracker, frames, scores) -> list[Alert]:
    """The alerts of a whole array of frame scores: `tracker` (fresh) fed every frame, then closed."""
    for f, s in zip(frames, scores):
        tracker.update(int(f), float(s))
    tracker.close()
    return tracker.alerts


def find_alerts(frames, scores, threshold: float, *settings, **keywords) -> list[Alert]:
    """The alerts of a whole array of frame scores under a tracker built from `threshold` and
    ``AlertTracker``'s other `settings` (a calibration's tracker: ``feed_all(AlertTracker.from_calibration(cal), ...)``)."""
    return feed_all(AlertTracker(threshold, *settings, **keywords), frames, scores)
