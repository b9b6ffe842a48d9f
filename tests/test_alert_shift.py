"""Shift-length footage and the alerts that hold over it (issue 26, 1 and 3): the reference detector,
its threshold set on a normal shift with everyday events, tolerates a planned stop and a light
switch on another shift and alerts on a jam within the time target."""

import dataclasses

import cv2
import numpy as np
import pytest
import torch

from ipad_vad.alerts.alert_tracker import AlertTracker, find_alerts
from ipad_vad.alerts.calibration import Calibration, fit_calibration, fit_shift_calibration
from ipad_vad.config import load_params
from ipad_vad.data.synth.generator import SynthConfig
from ipad_vad.data.synth.render import VideoPlan, render_video
from ipad_vad.data.synth.shift import EVERYDAY, ShiftConfig, shift_recording
from ipad_vad.errors import ConfigError
from ipad_vad.evaluate.plots import true_runs
from ipad_vad.inference.stream_scorer import StreamScorer
from ipad_vad.jobs.settings import AlertSettings
from ipad_vad.methods import get_method

P = load_params("params.yaml", "demo")
SCENE = "R04"  # the drill: its home pose (index in) differs from the poses a jam can hold
FPS = float(P["synth"]["fps"])
TIME_TARGET_S = 2.0  # issue 26: median time to alert <= 2 nominal seconds
SHORT = {"stop_minutes": (1.0, 1.5)}  # smoke-size shifts


def _jpeg(frames, quality):
    out = []
    for f in frames:
        ok, enc = cv2.imencode(".jpg", cv2.cvtColor(f, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        out.append(cv2.cvtColor(cv2.imdecode(enc, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))
    return np.stack(out)


def _score(method, model, cal, rec):
    s = np.full(len(rec), np.nan)
    labels = np.zeros(len(rec), np.uint8)
    scorer = StreamScorer(method, model, cal, batch_clips=64, max_latency=10**6, amp=False, check_size=False)
    for chunk in rec:
        labels[chunk.start : chunk.start + len(chunk.labels)] = chunk.labels
        for fs in scorer.push_many(chunk.frames):
            s[fs.frame] = fs.components["distance"]
    for fs in scorer.close():
        s[fs.frame] = fs.components["distance"]
    return s, labels


@pytest.fixture(scope="module")
def detector():
    """The reference detector's bank on the device's generated training footage, calibrated on a
    separate 12-minute normal shift holding a planned stop and a light switch."""
    torch.set_num_threads(1)
    cfg = SynthConfig.from_params(P["synth"])
    train = [
        _jpeg(
            render_video(VideoPlan(SCENE, "training", v, cfg.train_cycles, {}, "normal"), cfg.render, cfg.seed).frames,
            cfg.real_jpeg_quality,
        )
        for v in (1, 2)
    ]
    method = get_method("knn", P)
    model = method.build().eval()
    T = int(P["clip"]["length"])
    with torch.no_grad():
        clips = [torch.from_numpy(np.stack([v[i : i + T] for i in range(len(v) - T + 1)])) for v in train]
        x = [c.permute(0, 4, 1, 2, 3).float().div(127.5).sub(1.0) for c in clips]
        model.set_bank(
            torch.cat([model.descriptor(c) for c in x]), torch.cat([torch.full((len(c),), i) for i, c in enumerate(x)])
        )
    probe = Calibration(
        "knn",
        float("inf"),
        0.005,
        ("distance",),
        (0.0,),
        (1.0,),
        (1.0,),
        clip_len=T,
        frame_size=tuple(P["clip"]["size"]),
    )
    rec = shift_recording(
        SCENE,
        P["synth"],
        0,
        shift=1,
        hours=0.2,
        everyday=("light_drift", "walker"),
        at=[(120, "planned_stop"), (400, "light_switch")],
        **SHORT,
    )
    raw, _ = _score(method, model, probe, rec)
    base = fit_calibration(
        "knn",
        {"distance": raw[~np.isnan(raw)]},
        {"distance": 1.0},
        0.005,
        clip_len=T,
        frame_size=tuple(P["clip"]["size"]),
    )
    cal = fit_shift_calibration(base, {"distance": raw}, AlertSettings.from_params(P), FPS, "test calibration shift")
    return method, model, cal, base


def test_shift_is_streamed_deterministic_and_schedules_its_events():
    kw = dict(
        hours=0.05,
        chunk_frames=100,
        at=[(30, "planned_stop"), (60, "light_switch"), (70, "walker"), (80, "nudge")],
        **SHORT,
    )
    a, b = shift_recording(SCENE, P["synth"], 3, **kw), shift_recording(SCENE, P["synth"], 3, **kw)
    chunks = list(a)
    assert len(chunks) > 1 and sum(len(c.frames) for c in chunks) == len(a) == int(0.05 * 3600 * FPS)
    assert all(np.array_equal(x.frames, y.frames) for x, y in zip(chunks, b))
    kinds = {e.kind for e in a.events}
    assert {"planned_stop", "light_switch", "walker", "nudge"} <= kinds and not any(e.anomaly for e in a.events)
    stop = next(e for e in a.events if e.kind == "planned_stop")
    assert 60 * FPS <= stop.end - stop.start <= 90 * FPS  # the stop_minutes asked for
    assert sum(c.labels.sum() for c in chunks) == 0
    with pytest.raises(ConfigError, match=r"synth\.shift\.hourz: unknown key"):
        ShiftConfig.from_params({"hourz": 8})
    with pytest.raises(ConfigError, match=r"synth\.shift\.walker_seconds"):  # a range is two numbers
        ShiftConfig.from_params({"walker_seconds": [3]})
    with pytest.raises(ConfigError, match="no 'order' anomaly"):
        shift_recording("R01", P["synth"], 0, hours=0.01, anomalies=[(10, "order")])
    assert set(EVERYDAY) == {"light_switch", "walker", "planned_stop", "light_drift", "slow_cycle", "nudge"}


def test_hysteresis_and_smoothing_by_hand():
    # smooth=2: the mean of two frames must pass 1.0; release 0.5 keeps the alert through a dip
    tr = AlertTracker(threshold=1.0, min_frames=1, merge_gap=0, release=0.5, smooth=2)
    for i, s in enumerate([0, 3, 0.9, 0.6, 0.6, 0, 0, 0]):
        tr.update(i, s)
    tr.close()
    assert [(a.start, a.end) for a in tr.alerts] == [(1, 4)]  # 0.8, 0.75, 0.6 stay above the release
    assert [(a.start, a.end) for a in find_alerts(range(5), [0, 3, 0.9, 0.6, 0.6], 1.0, 1, 0)] == [(1, 1)]
    with pytest.raises(ValueError, match="release"):
        AlertTracker(threshold=1.0, release=2.0)


def test_planned_stop_and_light_switch_raise_no_alert(detector):
    method, model, cal, base = detector
    rec = shift_recording(
        SCENE,
        P["synth"],
        0,
        shift=2,
        hours=0.1,
        everyday=("light_drift",),
        at=[(60, "light_switch"), (150, "planned_stop")],
        **SHORT,
    )
    s, _ = _score(method, model, cal, rec)
    stop = next(e for e in rec.events if e.kind == "planned_stop")
    assert stop.end - stop.start >= 60 * FPS
    z = base.score({"distance": s})
    idx = np.flatnonzero(~np.isnan(z))
    assert find_alerts(idx, z[idx], cal.threshold, cal.min_frames, cal.merge_gap, cal.release, cal.smooth) == []
    assert (
        cal.extra["shift_calibration"]["alerts_on_footage"] <= cal.extra["shift_calibration"]["alerts_per_hour"] * 0.2
    )


def _jam_alerts(detector, kind):
    method, model, cal, base = detector
    rec = shift_recording(SCENE, P["synth"], 0, shift=3, hours=0.05, everyday=("light_drift",), anomalies=[(90, kind)])
    s, labels = _score(method, model, cal, rec)
    ((lo, hi),) = true_runs(labels == 1)[:1]
    tracker = AlertTracker.from_calibration(cal)
    raised = [
        ev.at_frame
        for f in np.flatnonzero(~np.isnan(s))
        for ev in tracker.update(int(f), float(base.score({"distance": s[f : f + 1]})[0]))
        if ev.kind == "start"
    ]
    return raised, lo, hi, cal


@pytest.fixture(scope="module")
def tilted(detector):
    return _jam_alerts(detector, "tilt")  # a part jammed askew in the drill


def _in_view(raised, lo, hi, cal):
    """The alerts raised while the jammed part is in view (from half a clip before it)."""
    return [r for r in raised if lo - cal.clip_len // 2 <= r <= hi]


def test_a_jammed_part_raises_an_alert(tilted):
    raised, lo, hi, cal = tilted
    assert _in_view(raised, lo, hi, cal), (raised, lo, hi)  # an alert while the part is in view


def test_a_jammed_part_is_alerted_within_the_time_target(tilted):
    """Measured 0.5 s with candidates from each recording (the default since 2026-12-03); 3.0 s with the
    whole bank's candidates."""
    raised, lo, hi, cal = tilted
    seen = _in_view(raised, lo, hi, cal)
    assert seen and (seen[0] - lo) / FPS <= TIME_TARGET_S, (raised, lo)


@pytest.mark.xfail(
    strict=True,
    reason=(
        "measured: with candidates from each recording (the default since 2026-12-03) two one-frame spikes "
        "67 s into this light-drift footage (3.9 and 4.0 against the 3.3 its normal shift sets) raise a "
        "false alert 30 s before the jam; none with the whole bank's candidates, whose shift-set threshold "
        "sits higher. Over hours of shifts the two raise as many (docs/alerts.md)"
    ),
)
def test_nothing_is_alerted_before_the_jam(tilted):
    raised, lo, _, cal = tilted
    assert all(r >= lo - cal.clip_len // 2 for r in raised), (raised, lo)


@pytest.mark.xfail(
    strict=True,
    reason=(
        "measured (whole bank's candidates): a 6.5 s stop mid-cycle peaks at 2.6 calibrated units, below the 3.2 of this normal "
        "footage's own tail and the 4.1 that tolerates a planned stop: the reference detector cannot tell "
        "a short jam from an idle machine (issue 26, hard case)"
    ),
)
def test_a_stop_mid_cycle_raises_an_alert(detector):
    raised, lo, hi, cal = _jam_alerts(detector, "pause")
    assert raised and lo - cal.clip_len // 2 <= raised[0] <= hi


def test_feedback_marks_the_first_hours_and_measures_the_same_rest_before_and_after():
    """bench_alerts --feedback (issue 26, 5): the marked false alerts are those of the first quarter
    of the evaluation shift, over no anomaly and over before it ends; before and after are measured
    on the same frames, the rest, where an alert of the marked hours no longer counts."""
    import sys
    from pathlib import Path

    import pandas as pd

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import bench_alerts as b

    n = 800
    assert b.feedback_split(n, FPS, None) == 200 and b.feedback_split(n, FPS, 50 / 3600) == 100
    for bad in (0.0, n / FPS / 3600):
        with pytest.raises(ValueError, match="must start it and leave a rest"):
            b.feedback_split(n, FPS, bad)
    labels = np.zeros(n, np.uint8)
    labels[120:140] = 1  # an anomaly in the marked hours ...
    labels[500:530] = 1  # ... and one in the rest
    alerts = [
        (10, 12, 30),
        (125, 126, 135),
        (141, 141, 143),
        (150, 152, 170),
        (195, 196, 210),
        (300, 301, 320),
        (505, 506, 520),
    ]
    # on the anomaly (or within the grace after it), across the split, after it: not marked
    assert b.marked_false_alerts(alerts, labels, 4, 200) == [(10, 12, 30), (150, 152, 170)]
    cal = Calibration("knn", 1.0, 0.005, ("distance",), (0.0,), (1.0,), (1.0,), clip_len=8, frame_size=(64, 64))
    before, after = np.zeros(n, np.float32), np.zeros(n, np.float32)
    for a0, _, a1 in alerts:
        before[a0 : a1 + 1] = 5.0
    after[500:530] = 5.0  # the new model: the rest's false alert gone, the anomaly still alerted
    event = np.zeros(n, np.int8)
    event[295:326] = 1 + b.EVENT_KINDS.index("walker")  # a worker walks through under the alert at 300
    ev = {"c_distance": before, "label": labels, "type": labels.astype(np.int16), "event": event}
    split = b.feedback_split(n, FPS, None)
    rest = b.rest_of_shift(ev, split)
    rest_after = b.rest_of_shift({**ev, "c_distance": after}, split)
    assert np.array_equal(rest["label"], rest_after["label"]) and len(rest["label"]) == n - split
    no_tests = pd.DataFrame({"video_index": [], "center": [], "label": [], "distance": []})
    r0 = b.evaluate_policy(cal, rest, no_tests, FPS, 4)
    r1 = b.evaluate_policy(cal, rest_after, no_tests, FPS, 4)
    assert r0["normal_hours"] == r1["normal_hours"] == (n - split - 30) / FPS / 3600
    # before: the tail of the alert across the split and the one at 300; after: none; the anomaly alerted both times
    assert (r0["false_alerts"], r1["false_alerts"]) == (2, 0)
    assert r0["false_alerts_by_event"] == {"none": 1, "walker": 1} and r1["false_alerts_by_event"] == {}
    assert r0["shift_spans"] == r1["shift_spans"] == r0["shift_spans_alerted"] == r1["shift_spans_alerted"] == 1
    s = b.feedback_summary([{"before": r0, "after": r1, "marked": 2, "marked_frames": 70}], FPS, 0)
    assert s["false_alerts_ratio"] == 0.0 and s["spans_alerted_change_points"] == 0.0 and s["target_met"]
    assert s["before"]["false_alerts_by_event"] == {"none": 1, "walker": 1}


def test_an_alert_raised_long_before_its_span_counts_false_in_the_strict_view():
    """bench_alerts: an alert raised more than EARLY_S before an anomalous span began (held open, or
    merged with the span's own by alert.merge_gap) is on the span but was not raised by it; the strict
    view counts the span not alerted by it and the alert false, once however many spans it covers, and
    not at all when it was raised by a span it is on."""
    import sys
    from pathlib import Path

    import pandas as pd

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import bench_alerts as b

    early = int(b.EARLY_S * FPS)
    labels = np.zeros(400, np.uint8)
    labels[100:110] = labels[130:140] = labels[300:310] = 1
    merged = (60, 61, 145)  # raised 39 frames before the first span, held over the second
    on_time = (300 - early, 300 - early, 305)  # raised exactly EARLY_S before its span: its own
    assert b.early_alerts([merged, on_time], labels, 4, early) == (2, 1)
    # raised by the first span and held over the second: the second reached early, the alert not false
    assert b.early_alerts([(99, 101, 145), on_time], labels, 4, early) == (1, 0)
    # the span's own alert beside the early one: the earliest raise decides
    assert b.early_alerts([merged, (100, 101, 108), on_time], labels, 4, early) == (2, 1)

    cal = Calibration("knn", 1.0, 0.005, ("distance",), (0.0,), (1.0,), (1.0,), clip_len=8, frame_size=(64, 64))
    scores = np.zeros(400, np.float32)
    scores[60:146] = scores[300 - early : 306] = 5.0
    shift = {"c_distance": scores, "label": labels, "type": labels.astype(np.int16)}
    no_tests = pd.DataFrame({"video_index": [], "center": [], "label": [], "distance": []})
    r = b.evaluate_policy(cal, shift, no_tests, FPS, 4)
    assert (r["false_alerts"], r["shift_spans_alerted"], r["early_spans"], r["early_alerts"]) == (0, 3, 2, 1)
    s = b.summarise([r], FPS, 0)
    assert s["spans_reached_early"] == 2 and s["spans_alerted_share"] == 1.0
    assert s["strict"]["spans_alerted_share"] == 1 / 3
    assert s["strict"]["false_alerts_per_hour"] == pytest.approx(1 / r["normal_hours"])
    assert s["spans_by_type"]["color"] == {
        "spans": 3,
        "alerted": 3,
        "peak_margin": [4.0, 4.0, 4.0],
        "missed_peak_margin_median": None,
    }


def test_spans_are_told_apart_by_anomaly_type_with_how_far_a_missed_one_was_from_an_alert():
    """bench_alerts' diagnosis: each anomalous span named by the type under most of its frames,
    alerted or not, and a missed span's peak score (over the span and the grace after it) minus the
    threshold; a code the names do not know is shown as the code."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import bench_alerts as b

    labels, types = np.zeros(100, np.uint8), np.zeros(100, np.int16)
    s = np.zeros(100)
    labels[10:20], types[10:20], s[10:20] = 1, 5, 3.0  # a pause, alerted (alert below)
    labels[40:50], types[40:48], types[48:50], s[52] = 1, 8, 5, 0.25  # mostly missing step; peak in the grace
    labels[70:75], types[70:75], s[60:75] = 1, 42, -1.0  # a code without a name, missed
    s[76] = np.nan
    spans = b.spans_by_type([(10, 11, 19)], labels, types, s, 1.0, 4, b.SHIFT_TYPE_NAMES)
    assert spans == [["pause", True, 2.0], ["missing_step", False, -0.75], ["42", False, -1.0]]
    summary = b.type_summary(spans + [["missing_step", False, -0.25]])
    assert summary["missing_step"] == {
        "spans": 2,
        "alerted": 0,
        "peak_margin": [-0.625, -0.5, -0.375],
        "missed_peak_margin_median": -0.5,
    }
    assert summary["pause"]["missed_peak_margin_median"] is None
    assert summary["all"]["spans"] == 4 and summary["all"]["alerted"] == 1
    assert summary["all"]["peak_margin"][1] == -0.5  # median of 2.0, -0.75, -1.0, -0.25


def test_an_everyday_events_peak_is_measured_against_the_threshold_unless_an_anomaly_overlaps_it():
    """bench_alerts' diagnosis: each everyday event's highest score minus the threshold (what a
    threshold would have to clear to tolerate it); an event over an anomalous frame is not counted."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import bench_alerts as b

    s, event, labels = np.zeros(60), np.zeros(60, np.int8), np.zeros(60, np.uint8)
    walker = 1 + b.EVENT_KINDS.index("walker")
    event[5:10], s[7] = walker, 6.0
    event[20:30], s[25], s[21] = walker, np.nan, 2.5  # a frame without a score is skipped
    event[40:50], labels[45], s[44] = walker, 1, 9.0  # over an anomaly: not an everyday peak
    assert b.event_peaks(s, event, labels, 2.0) == [["walker", 4.0], ["walker", 0.5]]
    assert b.event_peaks(s, None, labels, 2.0) == []
    assert b.peak_summary([["walker", 4.0], ["walker", 0.5]]) == {
        "walker": {"events": 2, "peak_margin": [1.375, 2.25, 3.125]}
    }


def test_the_feedback_floor_keeps_the_old_raw_threshold_and_only_ever_raises_it():
    """bench_alerts --feedback-floor: after the marks the threshold is at least the raw score the old
    calibration alerted at (here raw 2 + 0.5 * 3 = 3.5; the new map (x - 1) / 2 puts it at 1.25, above
    the refitted 0.8), the hysteresis release lifted by as much but never above the raw score at which
    the old alerts ended; a higher refitted threshold stays; two components are refused."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import bench_alerts as b

    old = Calibration("knn", 3.0, 0.005, ("distance",), (2.0,), (0.5,), (1.0,))
    new = Calibration("knn", 0.8, 0.005, ("distance",), (1.0,), (2.0,), (1.0,), release=0.3)
    floored = b.floor_threshold(new, old)
    assert floored.threshold == pytest.approx(1.25) and floored.release == pytest.approx(0.75)
    assert floored.extra["floor"] == {"raw_threshold": 3.5, "lifted_by": pytest.approx(0.45), "raw_release": 2.5}
    # the old alerts ended below raw 2 + 0.5 * 0 = 2 (1/2 in the new map): the release goes there, not to 0.75
    held = b.floor_threshold(new, dataclasses.replace(old, release=0.0))
    assert held.threshold == pytest.approx(1.25) and held.release == pytest.approx(0.5)
    # a refitted threshold above the old one stays, its release (raw 1 + 2 * 1.8 = 4.6) comes down to raw 3
    narrow = Calibration("knn", 2.0, 0.005, ("distance",), (1.0,), (2.0,), (1.0,), release=1.8)
    kept = b.floor_threshold(narrow, dataclasses.replace(old, release=2.0))
    assert kept.threshold == 2.0 and kept.release == pytest.approx(1.0) and kept.extra["floor"]["lifted_by"] == 0
    x = np.array([3.4, 3.6])  # raw scores: only the one the old calibration alerted on is above
    assert (old.score({"distance": x}) > old.threshold).tolist() == [False, True]
    assert (floored.score({"distance": x}) > floored.threshold).tolist() == [False, True]
    same = Calibration("knn", 0.1, 0.005, ("distance",), (1.0,), (3.0,), (1.0,), release=0.1)
    assert b.floor_threshold(same, old).release <= b.floor_threshold(same, old).threshold  # no rounding above it
    higher = Calibration("knn", 2.0, 0.005, ("distance",), (1.0,), (2.0,), (1.0,))
    assert b.floor_threshold(higher, old) is higher
    two = Calibration("x", 1.0, 0.005, ("a", "b"), (0.0, 0.0), (1.0, 1.0), (0.5, 0.5))
    with pytest.raises(ValueError, match="one and the same component"):
        b.floor_threshold(two, two)


def test_a_shift_threshold_is_never_below_the_held_out_one():
    """Footage calmer than the held-out recordings (every score below their threshold) keeps the
    held-out threshold; until 2026-12-04 it got its own maximum, a lower threshold."""
    base = fit_calibration("knn", {"distance": np.linspace(0.0, 10.0, 201)}, {"distance": 1.0}, 0.01)
    calm = {"distance": np.full(4000, base.means[0])}  # z = 0 everywhere, far below the threshold
    cal = fit_shift_calibration(base, calm, AlertSettings.from_params(P), FPS, "a calm shift")
    assert cal.threshold == base.threshold and cal.extra["shift_calibration"]["base_threshold"] == base.threshold
    hot = {"distance": np.r_[calm["distance"], [20.0] * 4]}  # one 4-frame excursion far above it: raised
    cal = fit_shift_calibration(base, hot, AlertSettings.from_params(P), FPS, "a shift with one event")
    assert cal.threshold > base.threshold


def test_fused_scores_are_the_mean_of_each_methods_calibrated_score():
    """bench_alerts --fuse: the fused calibration scores the mean of the methods' calibrated scores
    (here knn: (x - 2) / 0.5; the other: 0.5 (a - 1) / 2 + 0.5 (b - 0) / 4), each method's components
    under its own name; its threshold is the mean of their held-out thresholds (3 and 1: 2), with the
    hysteresis margin below; the shifts' and the test videos' columns are put side by side by name."""
    import sys
    from pathlib import Path

    import pandas as pd

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import bench_alerts as b

    knn = Calibration("knn", 3.0, 0.005, ("distance",), (2.0,), (0.5,), (1.0,))
    other = Calibration("fb", 1.0, 0.005, ("a", "b"), (1.0, 0.0), (2.0, 4.0), (0.5, 0.5), clip_len=8)
    fused = b.fused_calibration({"knn": knn, "fb": other}, release_margin=1.0)
    assert fused.components == ("knn:distance", "fb:a", "fb:b")
    assert (fused.threshold, fused.release, fused.clip_len) == (2.0, 1.0, 16)
    x, a, bb = np.array([2.0, 3.0, 4.0]), np.array([1.0, 5.0, -3.0]), np.array([0.0, 8.0, 4.0])
    by_hand = ((x - 2) / 0.5 + 0.5 * (a - 1) / 2 + 0.5 * bb / 4) / 2
    shifts = {
        "knn": {"c_distance": x, "label": np.array([0, 1, 0]), "type": np.zeros(3)},
        "fb": {"c_a": a, "c_b": bb, "label": np.array([0, 1, 0]), "type": np.zeros(3)},
    }
    arrays = b.fused_shift(shifts)
    np.testing.assert_allclose(fused.score(b.components(arrays)), by_hand)
    np.testing.assert_array_equal(arrays["label"], [0, 1, 0])
    with pytest.raises(ValueError, match="other frames"):
        b.fused_shift({**shifts, "fb": {**shifts["fb"], "label": np.array([1, 1, 0])}})
    key = {"video_index": [0, 0, 0], "center": [4, 5, 6], "label": [0, 1, 0], "type": [0, 2, 0]}
    scored = {
        "knn": pd.DataFrame({**key, "distance": x}),
        "fb": pd.DataFrame({**key, "a": a, "b": bb}).iloc[::-1],  # another order: matched by clip
    }
    side = b.fused_scored(scored, {"knn": knn, "fb": other}).sort_values("center")
    np.testing.assert_allclose(fused.score(side), by_hand)


def test_kept_device_models_are_reused_only_under_the_same_params(tmp_path):
    """bench_alerts --reuse: a device's test-video scores and calibration kept by one run come back as
    they were under the same params, and not at all under others (an --set alert.… sweep changes the
    shipped calibration: it must be fitted again) nor where a shift's scores are missing."""
    import sys
    from pathlib import Path

    import pandas as pd

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import bench_alerts as b

    q = load_params(Path(__file__).resolve().parents[1] / "params.yaml", "smoke")
    cal = Calibration("knn", 3.0, 0.005, ("distance",), (2.0,), (0.5,), (1.0,), release=2.0)
    scored = pd.DataFrame({"video_index": [0, 0], "center": [4, 5], "label": [0, 1], "distance": [1.0, 9.0]})
    b.keep_device_models({"R01": {"scored": scored, "cal": cal}}, q, "knn", tmp_path, 0)
    shift = tmp_path / "scores" / "shift.npz"
    assert b.kept_device_models(q, "knn", tmp_path, 0, {"R01": [shift]}) is None  # the shift's scores missing
    np.savez(shift, label=np.zeros(3))
    kept = b.kept_device_models(q, "knn", tmp_path, 0, {"R01": [shift]})
    assert kept["R01"]["cal"] == cal and kept["R01"]["model"] is None
    pd.testing.assert_frame_equal(kept["R01"]["scored"], scored)
    other = {**q, "alert": {**q["alert"], "release_margin": 2.0}}
    assert b.kept_device_models(other, "knn", tmp_path, 0, {"R01": [shift]}) is None
