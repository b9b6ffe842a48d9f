"""Alerts over shifts (issue 26, 2): false alerts per camera-hour, spans alerted, time to alert.

    python benchmarks/bench_alerts.py [--seeds 0,1,2] [--methods knn,...] [--hours 4] [--cal-hours 0.25]
        [--anomalies-per-hour 3] [--profile demo] [--devices R01,...] [--work DIR] [--out bench_alerts]
        [--feedback [--feedback-hours H] [--feedback-policy shift] [--feedback-floor]] [--fuse]
        [--set KEY=VALUE ...] [--shift KEY=VALUE ...]
    make bench-alerts

For each generator seed, the quality benchmark's machinery (``bench_quality.prepare_seed``: the
synthetic dataset at the profile's settings, cached and period-annotated) and the pipeline's own
jobs: each method's base fitted (``jobs/pretrain.fit_method``), adapted to every demo device
(``jobs/adapt.adapt_to_device``), its test footage scored (``jobs/evaluate.evaluate``) and its
alert threshold calibrated as shipped (``jobs/calibrate.calibrate``). Then, per device, two
streamed shifts of the generator (``data/synth/shift.py``), scored by the streaming scorer
(``inference/stream_scorer.StreamScorer``, whose scores equal file scores):

* a **calibration shift** (``--cal-hours``, shift 1: everyday events, no anomaly): normal footage
  the threshold of the shift-calibrated alert logic is set on;
* an **evaluation shift** (``--hours`` per device, split evenly over the seeds; shift 0): everyday
  events and anomalies injected at random times (``--anomalies-per-hour``, every type the device has).

Each alert policy (``POLICIES``) turns the same scores into alerts: ``shipped`` is the calibration
of the registered version (since 2026-12-04 set on the device's calibration footage, the generator's
``synth.calibration_minutes`` of a third shift, by ``alerts/calibration.fit_shift_calibration``),
``heldout`` the one it replaced (issue 7: quantile of held-out normal frames, ``min_frames`` hot
frames; what was shipped before), ``shift`` ``fit_shift_calibration`` from ``heldout`` on this
benchmark's own calibration shift.
Measured, per device, method and policy: false alerts per camera-hour (alerts on the evaluation
shift that overlap no injected anomaly), the share of anomalous spans alerted (the injected ones and
those of the labelled test videos), the time from a span's start to its alert (median and 90th
percentile, nominal seconds; ``time_to_alert_s`` counts from the frame whose score raises the alert,
``arrival`` adds the scorer's wait for the rest of the clip) and the trade-off curve (spans alerted
against false alerts per hour as the threshold moves by ``CURVE_OFFSETS`` calibrated units). An
alert raised more than ``EARLY_S`` before a span began is on it by overlap but was not raised by it
(held open by hysteresis, or merged with the span's own alert by ``alert.merge_gap``): the JSON
counts those spans (``spans_reached_early``) and gives the ``strict`` view beside the plain one,
those spans not alerted and an alert raised that early for every span it is on a false alert.

With ``--feedback`` (issue 26, 5) it measures the operator's feedback as ``ipad alerts`` gives it,
per device and seed: the false alerts of the ``--feedback-policy`` raised and over in the first
``--feedback-hours`` of the evaluation shift (default its first quarter: hours 1-2 of 8) are marked
false alarms and exported (``alerts/feedback.py``: their frames +- ``feedback.context_frames``, at
least ``feedback.context_cycles`` of the device's cycles, become training recordings of the device
through the import, into a copy of its data), the next data
version prepared and the device adapted, evaluated and calibrated on it by the same jobs as above
(normal footage only; the ``shift`` policy again on the calibration shift, rescored); then the rest
of the evaluation shift, the same frames, is measured with the old and the new model: false alerts
per camera-hour, spans alerted (the rest's injected ones and the test videos'), their ratio and
change (JSON ``feedback``; an arrow in the plot). It scores the calibration and evaluation shifts
again for each device and seed with marks: up to twice the scoring of a run without it. With
``--feedback-floor`` the new threshold is never below the old one, nor its hysteresis release above
the old one, in raw score units (``floor_threshold``): the marks may only silence alerts (an alert
can still split where the lower scores dip under the release for longer than ``alert.merge_gap``).

With ``--shift KEY=VALUE`` (a stress test) the benchmark's shifts are made with other everyday events
(``synth.shift``, ``settings/synth.Shift``: e.g. ``nudge_pixels=2 nudges_per_hour=4``, a camera knocked about
once every quarter of an hour); the data's own calibration footage, which sets the shipped threshold,
keeps the ``synth.shift`` it was generated with. Kept scores do not record them: give each setting its own ``--work``.

With ``--fuse`` (a diagnosis) the mean of the methods' calibrated scores is measured as one more
method, ``<m1>+<m2>`` (``fused_calibration``: each method's components in its own held-out spread's
units, the threshold floor the mean of their held-out thresholds; policies ``FUSED_POLICIES``).

Writes ``benchmarks/results/<out>.json`` and ``<out>.png``; each point of a trade-off curve with its
strict view (``curve_point``). Scores are kept in ``--work``: the shifts' and, per device, the
test videos' scores and the shipped calibration (``keep_device_models``); with ``--reuse`` (without
``--feedback``) the policies are measured again on them without fitting anything, in seconds. With
``--feedback --reuse`` the shifts' scores before the marks are read back, and those after them too
where the marks, the readapted bank's size and the params are the same: after a change of the code
that scores the readapted model, move its ``*_feedback_*`` files out of ``--work`` first.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import hashlib
import json
import shutil
import sys
import tempfile
import time
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, apply_overrides, write_result  # noqa: E402
from bench_quality import QUIET, SRC, prepare_seed  # noqa: E402

from ipad_vad.alerts.alert_tracker import AlertTracker  # noqa: E402
from ipad_vad.alerts.calibration import Calibration, fit_shift_calibration, heldout_calibration  # noqa: E402
from ipad_vad.alerts.operator_settings import FeedbackSettings  # noqa: E402
from ipad_vad.config import load_params  # noqa: E402
from ipad_vad.data.manifest import scene_rows  # noqa: E402
from ipad_vad.data.synth.anomalies import ANOMALY_TYPES  # noqa: E402
from ipad_vad.data.synth.shift import EVERYDAY, ShiftConfig, shift_recording  # noqa: E402
from ipad_vad.errors import ConfigError  # noqa: E402
from ipad_vad.evaluate.plots import true_runs  # noqa: E402
from ipad_vad.inference.stream_scorer import StreamScorer  # noqa: E402
from ipad_vad.io_utils import write_json  # noqa: E402
from ipad_vad.jobs.adapt import adapt_to_device  # noqa: E402
from ipad_vad.jobs.calibrate import calibrate  # noqa: E402
from ipad_vad.jobs.evaluate import evaluate, scene_type_names  # noqa: E402
from ipad_vad.jobs.pretrain import fit_method  # noqa: E402
from ipad_vad.jobs.settings import AdaptSettings, AlertSettings  # noqa: E402
from ipad_vad.methods import get_method  # noqa: E402
from ipad_vad.methods.abilities import lookahead  # noqa: E402
from ipad_vad.methods.adaptation import load_adapted  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CURVE_OFFSETS = tuple(np.round(np.arange(-2.0, 8.01, 0.25), 2))  # threshold moves, calibrated units
STREAM_BATCH = 256  # clips per model call when scoring a shift (throughput; scores do not depend on it)
POLICIES = ("heldout", "shipped", "shift")  # policy_calibration's alert policies
# the reference detector's centre-weighted clip (methods.knn.centre_width 0.5) sees its centre frame
# +- 4 frames: an alert raised more than these nominal seconds before a span began was not raised by
# it (summarise's spans_reached_early and strict view)
EARLY_S = 2.0
FEEDBACK_SHARE = 0.25  # --feedback: the marked hours are this share of the evaluation shift (hours 1-2 of 8)
FEEDBACK_RATIO_TARGET = 0.5  # issue 26: the marks at least halve the false alerts of the rest of the shift ...
FEEDBACK_SPAN_POINTS = 2.0  # ... with the share of spans alerted unchanged within this many points


# the everyday events a false alert is put down to (light drift runs all shift long: not one of them)
EVENT_KINDS = tuple(k for k in EVERYDAY if k != "light_drift")


# -- scoring ----------------------------------------------------------------------------------
def score_shift(method, model, cal: Calibration, rec, amp: bool) -> dict[str, np.ndarray]:
    """Raw components, labels and types of every frame of a streamed shift (frames without a clip
    centred on them: NaN)."""
    n = len(rec)
    comps = {c: np.full(n, np.nan, np.float32) for c in cal.components}
    labels, types = np.zeros(n, np.uint8), np.zeros(n, np.int16)
    scorer = StreamScorer(
        method,
        model,
        cal,
        "cpu",
        batch_clips=STREAM_BATCH,
        max_latency=10**6,
        amp=amp,
        name=f"shift {rec.plan.scene}",
        check_size=False,
    )

    def take(scores):
        for fs in scores:
            for c in comps:
                comps[c][fs.frame] = fs.components[c]

    for chunk in rec:
        labels[chunk.start : chunk.start + len(chunk.labels)] = chunk.labels
        types[chunk.start : chunk.start + len(chunk.types)] = chunk.types
        take(scorer.push_many(chunk.frames))
    take(scorer.close())
    return {
        **{f"c_{c}": v for c, v in comps.items()},
        "label": labels,
        "type": types,
        "event": event_frames(rec, n, cal.clip_len // 2),
    }


def event_frames(rec, n: int, half: int) -> np.ndarray:
    """Per frame, 1 + the index in EVENT_KINDS of the everyday event whose span, widened by `half` a
    clip on each side (the clips centred there hold one of its frames), covers it; 0: none. Later
    events win overlaps."""
    out = np.zeros(n, np.int8)
    for e in rec.events:
        if e.kind in EVENT_KINDS:
            out[max(0, e.start - half) : min(n, e.end + half)] = 1 + EVENT_KINDS.index(e.kind)
    return out


def false_alerts_by_event(alerts, on_span: list[bool], event: np.ndarray | None) -> dict[str, int]:
    """The false alerts counted by the everyday event under most of their frames ('none': no event)."""
    out: Counter[str] = Counter()
    for (a0, _, a1), hit in zip(alerts, on_span):
        if hit:
            continue
        codes = event[a0 : a1 + 1] if event is not None else np.zeros(0, np.int8)
        codes = codes[codes > 0]
        out[EVENT_KINDS[int(np.bincount(codes).argmax()) - 1] if codes.size else "none"] += 1
    return dict(out)


def shift_scores(
    path: Path,
    reuse: bool,
    device: str,
    q: dict,
    seed: int,
    shift: int,
    hours: float,
    rate: float,
    dm: dict,
    timing: dict,
    what: str,
) -> dict[str, np.ndarray]:
    """A streamed shift scored by the device model `dm` (kept in `path`; read back with `reuse`)."""
    if reuse and path.is_file():
        return dict(np.load(path))
    t = time.perf_counter()
    rec = shift_recording(device, q["synth"], seed, shift, hours=hours, anomalies_per_hour=rate)
    out = score_shift(dm["method"], dm["model"], dm["cal"], rec, q["train"].get("amp", True))
    timing["render_score_s"] += time.perf_counter() - t
    timing["frames_scored"] += len(rec)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez_compressed(tmp, **out)
    tmp.replace(path)
    print(f"{what}: {hours:.2f} h, {len(rec)} frames, {time.perf_counter() - t:.0f} s", flush=True)
    return out


def components(arrays: dict) -> dict[str, np.ndarray]:
    return {k[2:]: v for k, v in arrays.items() if k.startswith("c_")}


def device_models(p: dict, method_name: str, manifest, work: Path, devices: list[str]) -> dict:
    """The method fitted and adapted to every device as the pipeline does; per device its model,
    the test footage's scores and the shipped calibration."""
    base = work / method_name / "base"
    fit_method(p, method_name, manifest, p["pipeline"]["pretrain_scenes"], base, SRC, QUIET)
    return {
        d: device_model(p, method_name, d, manifest, base / "model.pt", work / method_name / "adapters" / d)
        for d in devices
    }


def device_model(p: dict, method_name: str, device: str, manifest, base_path: Path, out: Path) -> dict:
    """The pipeline's adapt, evaluate and calibrate jobs for one device on the footage of `manifest`."""
    info = adapt_to_device(
        p, method_name, device, QUIET, manifest=manifest, base_path=base_path, out_dir=out, source=SRC
    )
    _, model = load_adapted(out)
    method = get_method(method_name, p)
    scored, _, ctx = evaluate(p, method, model, manifest, device, SRC, progress=False)
    cal = calibrate(
        p,
        method,
        model,
        manifest,
        device,
        ctx,
        SRC,
        AdaptSettings.from_params(p),
        AlertSettings.from_params(p),
        progress=False,
    )
    return {
        "method": method,
        "model": model,
        "scored": scored,
        "cal": cal,
        "adapt": {k: info[k] for k in ("clips_used", "bank_size") if k in info},
    }


def params_digest(q: dict) -> str:
    """A digest of the params the device models were fitted, evaluated and calibrated with: kept
    models are reused only under the same (an ``--set alert.…`` sweep changes the shipped
    calibration, so it fits again)."""
    return hashlib.sha256(json.dumps(q, sort_keys=True, default=str).encode()).hexdigest()


def keep_device_models(models: dict, q: dict, m: str, work: Path, seed: int) -> None:
    """Each device's calibration and test-video scores kept in `work`, with the digest of the params
    they were made with (``kept_device_models``)."""
    for d, dm in models.items():
        stem = work / "scores" / f"{m}_seed{seed}_{d}"
        stem.parent.mkdir(parents=True, exist_ok=True)
        tmp = stem.with_name(stem.name + "_test.tmp.parquet")
        dm["scored"].to_parquet(tmp)
        tmp.replace(stem.with_name(stem.name + "_test.parquet"))
        write_json(stem.with_name(stem.name + "_cal.json"), {"params": params_digest(q), **dm["cal"].to_dict()})


def kept_device_models(q: dict, m: str, work: Path, seed: int, shifts: dict[str, list[Path]]) -> dict | None:
    """``--reuse`` without ``--feedback``: every device's calibration and test-video scores as an
    earlier run kept them under the same params, so that the policies are measured again without
    fitting (no model: its `shifts`' scores must be kept too); None when anything is missing or the
    params differ."""
    out = {}
    for d, paths in shifts.items():
        stem = work / "scores" / f"{m}_seed{seed}_{d}"
        test, cal = stem.with_name(stem.name + "_test.parquet"), stem.with_name(stem.name + "_cal.json")
        if not all(x.is_file() for x in (test, cal, *paths)):
            return None
        kept = json.loads(cal.read_text())
        if kept.pop("params", None) != params_digest(q):
            return None
        out[d] = {
            "method": get_method(m, q),
            "model": None,
            "scored": pd.read_parquet(test),
            "cal": Calibration.from_dict(kept),
            "adapt": {},
        }
    print(f"seed {seed} {m}: device models' scores and calibrations kept in {work} (not fitted again)", flush=True)
    return out


# -- alert policies ---------------------------------------------------------------------------
def floor_threshold(new: Calibration, old: Calibration) -> Calibration:
    """`new` with its threshold raised to the raw score at which `old` alerts, where it is lower, and
    its hysteresis release lowered to the raw score at which `old`'s alerts end, where it is higher: a
    model retrained on marked false alarms then raises no alert the old one did not, nor splits one the
    old one held open. Meant for a score that feedback can only lower (a memory bank grown by marked
    footage, candidates from each recording: ``retrieve_from: each_recording``); one component of the
    same name in both (the score is s = w (x - mean) / std, so a raw threshold is mean + std s / w).
    Until 2026-12-04 the release kept `new`'s margin in `new`'s units: where the retrained calibration's
    spread was smaller, its raw release rose and planned stops near the threshold were alerted anew."""
    if len(new.components) != 1 or new.components != old.components:
        raise ValueError(f"floor_threshold: one and the same component, got {old.components} and {new.components}")

    def raw(cal: Calibration, s: float) -> float:
        return cal.means[0] + cal.stds[0] * s / cal.weights[0]

    def calibrated(x: float) -> float:
        return new.weights[0] * (x - new.means[0]) / new.stds[0]

    threshold = max(new.threshold, calibrated(raw(old, old.threshold)))
    release = None  # no hysteresis: an alert ends below the threshold itself
    if new.release is not None:  # new's margin below the lifted threshold, never above it ...
        release = min(new.release - new.threshold + threshold, threshold)
        if old.release is not None:  # ... nor above the raw score at which old's alerts ended
            release = min(release, calibrated(raw(old, old.release)))
    if threshold == new.threshold and release == new.release:
        return new
    floor = {"raw_threshold": raw(old, old.threshold), "lifted_by": threshold - new.threshold}
    if release is not None:
        floor["raw_release"] = raw(new, release)
    return dataclasses.replace(new, threshold=threshold, release=release, extra={**new.extra, "floor": floor})


def policy_calibration(
    policy: str, shipped: Calibration, cal_shift: dict, alert: AlertSettings, fps: float
) -> Calibration:
    """``shipped``: the pipeline's calibration (set on the device's calibration footage where its data
    has some: synth.calibration_minutes); ``heldout``: the one that replaced, from held-out training
    recordings; ``shift``: set on this benchmark's own calibration shift, from ``heldout``."""
    if policy == "shipped":
        return shipped
    if policy == "heldout":
        return heldout_calibration(shipped)
    if policy == "shift":
        return fit_shift_calibration(
            heldout_calibration(shipped),
            components(cal_shift),
            alert,
            fps,
            source=f"calibration shift ({len(cal_shift['label']) / fps / 3600:.2f} h)",
        )
    raise ValueError(policy)


# -- fusion of methods (a diagnosis, --fuse) --------------------------------------------------
FUSED_JOIN = "+"  # the fused 'method' is named by its methods' names joined by this
FUSED_POLICIES = ("heldout", "shift")  # no calibration footage is scored by both: no ``shipped``


def fused_calibration(cals: dict[str, Calibration], release_margin: float) -> Calibration:
    """The mean of the methods' calibrated scores as one calibration (``--fuse``): each method's
    components named ``<method>:<component>``, each with its own held-out mean and spread, their
    weights divided by the number of methods -- so s = mean over the methods of each one's calibrated
    score, in the held-out spread's units each. Its threshold is the mean of the methods' held-out
    thresholds (the score of a frame at each one's threshold; ``fit_shift_calibration`` then sets the
    ``shift`` policy's on the calibration shift, never below it, as it does for each method), its
    hysteresis `release_margin` below; the alert logic's other settings are the first method's. Label-free:
    every number here is from normal footage."""
    held = {m: heldout_calibration(c) for m, c in cals.items()}
    first = next(iter(held.values()))
    threshold = float(np.mean([c.threshold for c in held.values()]))
    return dataclasses.replace(
        first,
        method=FUSED_JOIN.join(held),
        threshold=threshold,
        release=threshold - release_margin if release_margin > 0 else None,
        components=tuple(f"{m}:{n}" for m, c in held.items() for n in c.components),
        means=tuple(x for c in held.values() for x in c.means),
        stds=tuple(x for c in held.values() for x in c.stds),
        weights=tuple(w / len(held) for c in held.values() for w in c.weights),
        clip_len=max(c.clip_len for c in held.values()),
        n_frames=min(c.n_frames for c in held.values()),
        source="mean of the held-out calibrations of " + ", ".join(held),
        extra={},
    )


def fused_shift(shifts: dict[str, dict]) -> dict[str, np.ndarray]:
    """One shift's arrays scored by several methods as one (``fused_calibration``'s component names);
    the methods scored the same rendered frames, so their labels must agree."""
    first = next(iter(shifts.values()))
    out = {k: v for k, v in first.items() if not k.startswith("c_")}
    for m, a in shifts.items():
        if not np.array_equal(a["label"], first["label"]):
            raise ValueError(f"--fuse: {m} scored other frames than {next(iter(shifts))}")
        out.update({f"c_{m}:{k}": v for k, v in components(a).items()})
    return out


def fused_scored(scored: dict, cals: dict[str, Calibration]):
    """The test videos' scored clips of several methods side by side (the clips all of them scored)."""
    key = ["video_index", "center"]
    out = None
    for m, df in scored.items():
        cols = {c: f"{m}:{c}" for c in cals[m].components}
        if out is None:
            out = df[[*key, "label", "type", *cols]].rename(columns=cols)
        else:
            out = out.merge(df[[*key, *cols]].rename(columns=cols), on=key, how="inner")
    return out


def run_alerts(cal: Calibration, s: np.ndarray, offset: float = 0.0) -> list[tuple[int, int, int]]:
    """(first hot frame, frame that raised the alert, last frame) of every alert over scores `s`."""
    tracker = AlertTracker.from_calibration(cal, offset)
    raised = {}
    for f in np.flatnonzero(~np.isnan(s)):
        for ev in tracker.update(int(f), float(s[f])):
            if ev.kind == "start":
                raised[ev.alert.start] = ev.at_frame
    tracker.close()
    return [(a.start, raised.get(a.start, a.start), a.end) for a in tracker.alerts]


def on_spans(alerts, labels: np.ndarray, grace: int, hits=None) -> tuple[list[bool], list[float], int]:
    """(whether each alert is on an anomalous span, frames from each anomalous span's start to its first
    alert (missed: absent), spans). An alert is on a span when it overlaps the span or the `grace` frames
    after it; `hits`: ``span_hits`` of the same alerts, when the caller has it."""
    hits, spans = hits or span_hits(alerts, labels, grace)
    on_span = [False] * len(alerts)
    for _, on in hits:
        for i in on:
            on_span[i] = True
    return on_span, [min(alerts[i][1] for i in on) - lo for lo, on in hits], spans


def span_hits(alerts, labels: np.ndarray, grace: int) -> tuple[list[tuple[int, list[int]]], int]:
    """([(first frame of an alerted anomalous span, indices of the alerts on it)], spans)."""
    hits = []
    runs = true_runs(labels == 1)
    for lo, hi in runs:
        on = [i for i, (a0, _, a1) in enumerate(alerts) if a0 <= hi - 1 + grace and a1 >= lo]
        if on:
            hits.append((lo, on))
    return hits, len(runs)


def spans_by_type(
    alerts, labels: np.ndarray, types: np.ndarray, s: np.ndarray, threshold: float, grace: int, names: dict, hits=None
) -> list[list]:
    """[type name, alerted, peak margin] of every anomalous span: the anomaly type under most of its
    frames (by `names`, else its code), whether an alert is on it (`span_hits`' rule), and its highest
    score (over the span and the `grace` frames after it) minus the threshold -- how far a missed span
    was from an alert. A diagnosis of what the alerts miss, never a setting: nothing is fitted on it."""
    hit = {lo for lo, _ in (hits or span_hits(alerts, labels, grace))[0]}
    out = []
    for lo, hi in true_runs(labels == 1):
        codes = types[lo:hi][types[lo:hi] > 0]
        code = int(np.bincount(codes).argmax()) if codes.size else 0
        peak = s[lo : min(len(s), hi + grace)]
        peak = peak[~np.isnan(peak)]
        out.append([names.get(code, str(code)), lo in hit, float(peak.max() - threshold) if peak.size else None])
    return out


def event_peaks(s: np.ndarray, event: np.ndarray | None, labels: np.ndarray, threshold: float) -> list[list]:
    """[event kind, peak margin] of every everyday event of a shift that overlaps no anomalous frame:
    its highest score minus the threshold (what the threshold would have to clear to tolerate it)."""
    if event is None:
        return []
    out = []
    for j, kind in enumerate(EVENT_KINDS):
        for lo, hi in true_runs(event == j + 1):
            x = s[lo:hi][~np.isnan(s[lo:hi])]
            if x.size and not labels[lo:hi].any():
                out.append([kind, float(x.max() - threshold)])
    return out


def early_alerts(alerts, labels: np.ndarray, grace: int, early: int, hits=None) -> tuple[int, int]:
    """(anomalous spans whose first alert was raised more than `early` frames before the span began,
    alerts raised that early for every span they are on). Such a span was reached by an alert held
    open, or merged (``alert.merge_gap``) with the span's own; such an alert was raised by something
    else: the strict view counts the span not alerted and the alert false."""
    hits = (hits or span_hits(alerts, labels, grace))[0]
    firsts = [(lo, min(on, key=lambda i: alerts[i][1])) for lo, on in hits]
    own = {i for lo, on in hits for i in on if alerts[i][1] - lo >= -early}
    return sum(alerts[i][1] - lo < -early for lo, i in firsts), len({i for _, on in hits for i in on} - own)


SHIFT_TYPE_NAMES = {v["code"]: k for k, v in ANOMALY_TYPES.items()}  # the generator's codes (shift footage)


def evaluate_policy(
    cal: Calibration,
    eval_shift: dict,
    scored_test,
    fps: float,
    grace: int,
    offset: float = 0.0,
    test_type_names: dict | None = None,
    diagnose: bool = True,
) -> dict:
    """What `cal` (its threshold moved by `offset` calibrated units) alerts on the evaluation shift and
    the test videos; `diagnose`: with the spans by anomaly type and the everyday events' peaks (not
    needed at each point of the trade-off curve)."""
    s = cal.score(components(eval_shift))
    alerts = run_alerts(cal, s, offset)
    labels = eval_shift["label"]
    hits = span_hits(alerts, labels, grace)
    threshold = cal.threshold + offset
    by_type = (
        spans_by_type(alerts, labels, eval_shift["type"], s, threshold, grace, SHIFT_TYPE_NAMES, hits)
        if diagnose
        else []
    )
    early = int(round(EARLY_S * fps))
    on_span, delays, spans = on_spans(alerts, labels, grace, hits)
    e_spans, e_alerts = early_alerts(alerts, labels, grace, early, hits)
    false = sum(not x for x in on_span)
    t_false, t_delays, t_spans = 0, [], 0
    for _, g in scored_test.groupby("video_index", sort=True):
        frames = g.center.to_numpy()
        lab = np.zeros(int(frames.max()) + 1, np.uint8)
        sc = np.full(len(lab), np.nan)
        lab[frames], sc[frames] = g.label.to_numpy(), cal.score(g)
        video_alerts = run_alerts(cal, sc, offset)
        v_hits = span_hits(video_alerts, lab, grace)
        on, d, n = on_spans(video_alerts, lab, grace, v_hits)
        if diagnose:
            types = np.zeros(len(lab), np.int16)
            types[frames] = g.type.to_numpy()
            by_type += spans_by_type(video_alerts, lab, types, sc, threshold, grace, test_type_names or {}, v_hits)
        t_false, t_delays, t_spans = t_false + sum(not x for x in on), t_delays + d, t_spans + n
        e_spans += early_alerts(video_alerts, lab, grace, early, v_hits)[0]
    hours = float(np.sum(labels == 0)) / fps / 3600
    return {
        "false_alerts": false,
        "false_alerts_by_event": false_alerts_by_event(alerts, on_span, eval_shift.get("event")),
        "normal_hours": hours,
        "shift_spans": spans,
        "shift_spans_alerted": len(delays),
        "test_spans": t_spans,
        "test_spans_alerted": len(t_delays),
        "test_false_alerts": t_false,
        "delays_frames": [int(x) for x in delays + t_delays],
        "early_spans": e_spans,  # of the shift's and the test videos' spans alerted
        "early_alerts": e_alerts,  # of the shift's alerts (the ones false alerts per hour count)
        "threshold": threshold,
        "spans_by_type": by_type,
        "event_peaks": event_peaks(s, eval_shift.get("event"), labels, threshold) if diagnose else [],
    }


def summarise(rows: list[dict], fps: float, latency_frames: int) -> dict:
    hours = sum(r["normal_hours"] for r in rows)
    false = sum(r["false_alerts"] for r in rows)
    spans = sum(r["shift_spans"] + r["test_spans"] for r in rows)
    hit = sum(r["shift_spans_alerted"] + r["test_spans_alerted"] for r in rows)
    d = np.array([x for r in rows for x in r["delays_frames"]], float) / fps
    q = lambda a, v: float(np.percentile(a, v)) if len(a) else None  # noqa: E731
    n_early_spans = sum(r["early_spans"] for r in rows)
    n_early_alerts = sum(r["early_alerts"] for r in rows)
    by_event: Counter[str] = sum((Counter(r.get("false_alerts_by_event", {})) for r in rows), Counter())
    return {
        "false_alerts_per_hour": false / hours if hours else None,
        "false_alerts": false,
        "false_alerts_by_event": dict(by_event.most_common()),
        "normal_hours": hours,
        "spans_alerted_share": hit / spans if spans else None,
        "spans": spans,
        "spans_alerted": hit,
        "shift_spans_alerted_share": (
            sum(r["shift_spans_alerted"] for r in rows) / max(1, sum(r["shift_spans"] for r in rows))
        ),
        "test_spans_alerted_share": (
            sum(r["test_spans_alerted"] for r in rows) / max(1, sum(r["test_spans"] for r in rows))
        ),
        "time_to_alert_s": {"median": q(d, 50), "p90": q(d, 90)},
        "time_to_alert_arrival_s": {"median": q(d + latency_frames / fps, 50), "p90": q(d + latency_frames / fps, 90)},
        # an alert raised more than EARLY_S before the span began (held open, or merged with the span's
        # own) counted as a false alert and the span as not alerted by it
        "spans_reached_early": n_early_spans,
        "spans_by_type": type_summary([x for r in rows for x in r.get("spans_by_type", [])]),
        "everyday_peaks": peak_summary([x for r in rows for x in r.get("event_peaks", [])]),
        "strict": {
            "false_alerts_per_hour": (false + n_early_alerts) / hours if hours else None,
            "spans_alerted_share": (hit - n_early_spans) / spans if spans else None,
        },
    }


def type_summary(spans: list[list]) -> dict:
    """Per anomaly type (and ``all``): spans, spans alerted, the quartiles of their peak margins (score
    minus threshold, in calibrated units) and the median peak margin of the spans missed."""
    out = {}
    for name in sorted({x[0] for x in spans}) + ["all"]:
        mine = [x for x in spans if name in ("all", x[0])]
        missed = [x[2] for x in mine if not x[1] and x[2] is not None]
        out[name] = {
            "spans": len(mine),
            "alerted": sum(bool(x[1]) for x in mine),
            "peak_margin": quartiles([x[2] for x in mine if x[2] is not None]),
            "missed_peak_margin_median": float(np.median(missed)) if missed else None,
        }
    return out


def peak_summary(peaks: list[list]) -> dict:
    """Per everyday event kind: how many, and the quartiles of their peak margins (``event_peaks``)."""
    return {
        k: {"events": sum(x[0] == k for x in peaks), "peak_margin": quartiles([x[1] for x in peaks if x[0] == k])}
        for k in sorted({x[0] for x in peaks})
    }


def quartiles(x: list[float]) -> list[float] | None:
    """[25th, 50th, 75th percentile] of `x`; None when empty."""
    return [float(v) for v in np.percentile(x, [25, 50, 75])] if x else None


# -- operator feedback (issue 26, 5) ---------------------------------------------------------
def feedback_split(n_frames: int, fps: float, hours: float | None) -> int:
    """First frame of the rest of the evaluation shift: after `hours` nominal hours of marks (None:
    the first ``FEEDBACK_SHARE`` of the shift, hours 1-2 of 8)."""
    split = int(round(hours * 3600 * fps)) if hours is not None else int(n_frames * FEEDBACK_SHARE)
    if not 0 < split < n_frames:
        raise ValueError(
            f"--feedback-hours {hours}: the evaluation shift has {n_frames / fps / 3600:.3g} nominal "
            "hours per device and seed; the marked hours must start it and leave a rest"
        )
    return split


def rest_of_shift(arrays: dict[str, np.ndarray], split: int) -> dict[str, np.ndarray]:
    """The frames of a scored shift from `split` on: the footage measured before and after feedback."""
    return {k: v[split:] for k, v in arrays.items()}


def marked_false_alerts(alerts, labels: np.ndarray, grace: int, split: int) -> list[tuple[int, int, int]]:
    """The alerts an operator has marked as false alarms by frame `split`: those over no anomalous
    span (`match`'s rule) that ended before it (an operator judges an alert once it is over)."""
    on, _, _ = on_spans(alerts, labels, grace)
    return [a for a, hit in zip(alerts, on) if not hit and a[2] < split]


def write_footage(rec, n: int, path: Path, fps: float) -> None:
    """The first `n` frames of a streamed shift as a lossless video (FFV1): what the camera recorded
    in the marked hours, the footage ``ipad alerts export`` cuts the marked alerts from."""
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    writer = None
    try:
        for chunk in rec:
            if chunk.start >= n:
                break
            for frame in chunk.frames[: n - chunk.start]:
                if writer is None:
                    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"FFV1"), fps, frame.shape[1::-1])
                    if not writer.isOpened():
                        raise RuntimeError(f"{tmp}: OpenCV's FFV1 writer did not open")
                writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        if writer is not None:
            writer.release()
    tmp.replace(path)


def feedback_model(
    q: dict,
    method_name: str,
    device: str,
    seed: int,
    shift_kw: dict,
    split: int,
    alerts,
    marked,
    s: np.ndarray,
    base_path: Path,
    fb: Path,
    fps: float,
) -> tuple[dict, dict]:
    """The device's model after the operator's marks, made as ``ipad alerts`` and the pipeline make it:
    the marked hours' footage and its alerts (as ``ipad score`` lists them), each marked false alarm
    marked (``alerts/feedback.mark_alert``) and exported through the import into a copy of the
    device's data (``export_marks``: the alert's frames +- ``feedback.context_frames`` become a
    training recording), the next data version prepared (cache, periods) and the device adapted,
    evaluated and calibrated on it (``device_model``: normal footage only, as before)."""
    from ipad_vad.alerts.feedback import FALSE_ALARM, export_marks, mark_alert
    from ipad_vad.data.manifest import build_manifest
    from ipad_vad.jobs.data import prepared_cycle_frames
    from ipad_vad.jobs.layout import prepared
    from ipad_vad.preprocess.cache import cache_scene
    from ipad_vad.preprocess.period import period_scene

    settings = FeedbackSettings.from_params(q)
    if fb.exists():
        shutil.rmtree(fb)
    src, data = Path(q["data"]["root"]), fb / "data"
    shutil.copytree(src / device, data / device)
    for extra in ("anomaly_types.json", "synth.json"):  # the dataset's own files
        if (src / extra).is_file():
            shutil.copy2(src / extra, data / extra)
    footage, scores = fb / "footage" / f"{device}_shift.mkv", fb / "scores"
    write_footage(shift_recording(device, q["synth"], seed, 0, **shift_kw), split, footage, fps)
    listed = [a for a in alerts if a[2] < split]
    peaks = [a0 + int(np.nanargmax(s[a0 : a1 + 1])) for a0, _, a1 in listed]
    write_json(
        scores / f"{footage.stem}.alerts.json",
        {
            "path": str(footage),
            "device": device,
            "fps": fps,
            "model_version": f"bench_alerts seed {seed}",
            "model_uri": None,
            "alerts": [
                {
                    "alert_id": f"{footage.stem}:{k}",
                    "start": a0,
                    "end": a1,
                    "peak_frame": pk,
                    "peak_score": float(s[pk]),
                }
                for k, ((a0, _, a1), pk) in enumerate(zip(listed, peaks), 1)
            ],
        },
    )
    for k, a in enumerate(listed, 1):
        if a in marked:
            mark_alert(scores, f"{footage.stem}:{k}", FALSE_ALARM, data, settings, note="bench_alerts: marked hours")
    clip_len = int(q["clip"]["length"])
    cycles = {device: c} if (c := prepared_cycle_frames(q, device)) is not None else None  # as `ipad alerts export`
    exp = export_marks(scores, data, settings, int(q["data"].get("jpeg_quality") or 95), clip_len, clip_len, cycles)
    if exp.failed:
        raise RuntimeError(f"{device}: marked alerts not exported: {exp.failed}")
    p = copy.deepcopy(q)
    p["data"].update(root=str(data), manifest=str(fb / "manifest.parquet"))
    for key in ("prepared_root", "models_root", "eval_root"):
        p["pipeline"][key] = str(fb / key.split("_")[0])
    manifest = build_manifest(data, sample_decode=1)
    per = p["period"]
    cache_scene(manifest, device, tuple(p["clip"]["size"]), prepared(p, device, "cache"))
    period_scene(
        manifest,
        device,
        prepared(p, device, "cache"),
        prepared(p, device, "periods"),
        None,
        per["signal"],
        per["min_frames"],
        per["max_frames"],
        per["use_annotations"],
    )
    model = device_model(p, method_name, device, manifest, base_path, fb / "adapter")
    train = scene_rows(manifest, device, "training")
    info = {
        "alerts_marked_hours": len(listed),
        "marked": len(marked),
        "marked_frames": int(sum(e["n_frames"] for e in exp.report.imported)) if exp.report else 0,
        "exported_as": [e["as"] for e in exp.exported],
        "training_recordings": len(train),
    }
    return model, info


def measure_feedback(
    args,
    q: dict,
    m: str,
    d: str,
    seed: int,
    hours: float,
    dm: dict,
    shifts: dict,
    work: Path,
    alert: AlertSettings,
    fps: float,
    timing: dict,
) -> dict:
    """One device and seed: the false alerts of the marked hours marked, the device readapted
    (`feedback_model`), the calibration and evaluation shifts scored again by the new model, the
    policy calibrated again on normal footage as before; the rest of the evaluation shift (the same
    frames, `rest_of_shift`) measured with the old and the new model."""
    pol, ev, grace = args.feedback_policy, shifts["evaluation"], dm["cal"].clip_len // 2
    split = feedback_split(len(ev["label"]), fps, args.feedback_hours)
    before_cal = policy_calibration(pol, dm["cal"], shifts["calibration"], alert, fps)
    s = before_cal.score(components(ev))
    alerts = run_alerts(before_cal, s)
    marked = marked_false_alerts(alerts, ev["label"], grace, split)
    info = {
        "alerts_marked_hours": sum(a[2] < split for a in alerts),
        "marked": len(marked),
        "marked_frames": 0,
        "exported_as": [],
        "training_recordings": None,
    }
    after_dm, after_shifts, after_cal = dm, shifts, before_cal
    if marked:  # nothing marked: nothing exported, the same model
        fb = work / f"seed{seed}" / "feedback" / m / d
        after_dm, info = feedback_model(
            q,
            m,
            d,
            seed,
            {"hours": hours, "anomalies_per_hour": args.anomalies_per_hour},
            split,
            alerts,
            marked,
            s,
            work / f"seed{seed}" / m / "base" / "model.pt",
            fb,
            fps,
        )
        # --reuse: the same marks, the same bank, the same params (a matching setting changes the new scores)
        tag = f"feedback_{pol}_{split}_{zlib.crc32(repr((marked, after_dm['adapt'], params_digest(q))).encode()):08x}"
        after_shifts = {
            name: shift_scores(
                work / "scores" / f"{m}_seed{seed}_{d}_{name}_{h:g}h_{rate:g}_{tag}.npz",
                args.reuse,
                d,
                q,
                seed,
                shift,
                h,
                rate,
                after_dm,
                timing,
                f"seed {seed} {m} {d} {name} after feedback",
            )
            for name, shift, h, rate in (
                ("calibration", 1, args.cal_hours, 0.0),
                ("evaluation", 0, hours, args.anomalies_per_hour),
            )
            if name == "evaluation" or pol != "shipped"
        }
        after_cal = policy_calibration(pol, after_dm["cal"], after_shifts.get("calibration"), alert, fps)
        if args.feedback_floor:
            after_cal = floor_threshold(after_cal, before_cal)
    return {
        "seed": seed,
        "split_frame": split,
        "rest_frames": len(ev["label"]) - split,
        **info,
        "threshold_before": before_cal.threshold,
        "threshold_after": after_cal.threshold,
        "threshold_floor": after_cal.extra.get("floor"),
        # the affine maps the thresholds are in (z = (x - mean) / std per component): before and after
        # differ, so a threshold in raw score units is mean + std * threshold for a one-component method
        "calibration_before": {"means": list(before_cal.means), "stds": list(before_cal.stds)},
        "calibration_after": {"means": list(after_cal.means), "stds": list(after_cal.stds)},
        "adapt_before": dm["adapt"],
        "adapt_after": after_dm["adapt"],
        "before": evaluate_policy(before_cal, rest_of_shift(ev, split), dm["scored"], fps, grace),
        "after": evaluate_policy(
            after_cal, rest_of_shift(after_shifts["evaluation"], split), after_dm["scored"], fps, grace
        ),
    }


def feedback_summary(rows: list[dict], fps: float, latency_frames: int) -> dict:
    """Before and after the marks on the rest of the shift: false alerts per hour, spans alerted, and the
    issue's target (false alerts at most halved, spans alerted within +- FEEDBACK_SPAN_POINTS points)."""
    before = summarise([r["before"] for r in rows], fps, latency_frames)
    after = summarise([r["after"] for r in rows], fps, latency_frames)
    fb, fa = before["false_alerts_per_hour"], after["false_alerts_per_hour"]
    ratio = fa / fb if fb else None
    change = (
        100 * (after["spans_alerted_share"] - before["spans_alerted_share"])
        if before["spans_alerted_share"] is not None and after["spans_alerted_share"] is not None
        else None
    )
    sb, sa = before["strict"]["false_alerts_per_hour"], after["strict"]["false_alerts_per_hour"]
    return {
        "before": before,
        "after": after,
        "false_alerts_ratio": ratio,
        "strict_false_alerts_ratio": sa / sb if sb else None,
        "spans_alerted_change_points": change,
        "shift_spans_alerted_change_points": 100
        * (after["shift_spans_alerted_share"] - before["shift_spans_alerted_share"]),
        "marked": sum(r["marked"] for r in rows),
        "marked_frames": sum(r["marked_frames"] for r in rows),
        "target_met": (
            ratio is not None
            and ratio <= FEEDBACK_RATIO_TARGET
            and change is not None
            and abs(change) <= FEEDBACK_SPAN_POINTS
        ),
    }


def shift_settings(items: list[str]) -> dict:
    """``--shift KEY=VALUE`` as ``synth.shift`` settings (YAML values); an unknown key is refused by name."""
    import yaml

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--shift {item}: KEY=VALUE")
        out[key] = yaml.safe_load(value)
    try:
        ShiftConfig.from_params(out)
    except ConfigError as e:
        raise SystemExit(f"--shift: {e}") from None
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--methods", default="knn", help="comma-separated registered methods (default: the reference)")
    ap.add_argument(
        "--hours",
        type=float,
        default=4.0,
        help="nominal hours of evaluation shift per device, "
        "split evenly over the seeds (default 4: the 30-minute budget on 2 cores)",
    )
    ap.add_argument(
        "--cal-hours", type=float, default=0.25, help="nominal hours of calibration shift per device and seed"
    )
    ap.add_argument(
        "--anomalies-per-hour", type=float, default=3.0, help="anomalies injected into the evaluation shift"
    )
    ap.add_argument("--policies", default=",".join(POLICIES))
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--work", default=None, help="work folder (default: a temporary one, removed at the end)")
    ap.add_argument("--reuse", action="store_true", help="reuse the scores kept in --work")
    ap.add_argument("--out", default="bench_alerts")
    ap.add_argument("--devices", default=None, help="comma-separated devices (default: the profile's pipeline.devices)")
    ap.add_argument(
        "--feedback",
        action="store_true",
        help="also measure operator feedback: the false alerts of the "
        "first --feedback-hours of each evaluation shift marked (ipad alerts), exported, the device "
        "readapted; false alerts and spans alerted on the rest of the shift before and after",
    )
    ap.add_argument(
        "--feedback-hours",
        type=float,
        default=None,
        help="nominal hours of marks at the start of each "
        f"evaluation shift (default: its first {FEEDBACK_SHARE:g}, hours 1-2 of 8)",
    )
    ap.add_argument(
        "--feedback-policy",
        default="shift",
        help="the alert policy whose alerts the operator marks and that is measured before and after (default: shift)",
    )
    ap.add_argument(
        "--feedback-floor",
        action="store_true",
        help="after the marks, keep the threshold at or above the old one and the release at or below the old "
        "one, in raw score units (floor_threshold)",
    )
    ap.add_argument(
        "--fuse",
        action="store_true",
        help="also alert on the mean of the methods' calibrated scores, as one more method named "
        f"'<m1>{FUSED_JOIN}<m2>...' (a diagnosis: fused_calibration; policies {', '.join(FUSED_POLICIES)})",
    )
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting (YAML value), e.g. methods.knn.retrieve_from=each_recording",
    )
    ap.add_argument(
        "--shift",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting of the benchmark's shifts (synth.shift: settings/synth.Shift, YAML value), e.g. nudge_pixels=2 "
        "nudges_per_hour=4: a stress test of the everyday events (the data's own calibration footage keeps the "
        "synth.shift it was generated with)",
    )
    args = ap.parse_args()
    t_all = time.perf_counter()
    p = apply_overrides(load_params(ROOT / "params.yaml", args.profile), args.set)
    shift_sets = shift_settings(args.shift)
    seeds = [int(s) for s in args.seeds.split(",")]
    methods = [m for m in args.methods.split(",") if m]
    policies = [x for x in args.policies.split(",") if x]
    hours = args.hours / len(seeds)
    fps = float(p["synth"]["fps"])
    alert = AlertSettings.from_params(p)
    devices = p["pipeline"]["devices"]
    if args.devices:
        unknown = sorted(set(args.devices.split(",")) - set(devices))
        if unknown:
            ap.error(
                f"--devices {args.devices}: not devices of profile {args.profile} ({', '.join(devices)}): {unknown}"
            )
        devices = [d for d in devices if d in args.devices.split(",")]
    if args.feedback_policy not in POLICIES:
        ap.error(f"--feedback-policy {args.feedback_policy}: one of {', '.join(POLICIES)}")
    fused = FUSED_JOIN.join(methods) if args.fuse else None
    if fused and (len(methods) < 2 or args.feedback):
        ap.error("--fuse: two methods or more, without --feedback")
    work = Path(args.work or tempfile.mkdtemp(prefix="bench_alerts_"))
    rows: dict = {m: {pol: {d: [] for d in devices} for pol in policies} for m in methods}
    curves: dict = {m: {pol: {str(o): [] for o in CURVE_OFFSETS} for pol in policies} for m in methods}
    if fused:
        fused_policies = [pol for pol in policies if pol in FUSED_POLICIES]
        rows[fused] = {pol: {d: [] for d in devices} for pol in fused_policies}
        curves[fused] = {pol: {str(o): [] for o in CURVE_OFFSETS} for pol in fused_policies}
    timing = {"prepare_s": 0.0, "models_s": 0.0, "render_score_s": 0.0, "frames_scored": 0, "feedback_s": 0.0}
    feedback_rows: dict = {m: {d: [] for d in devices} for m in methods}
    latency = {}
    try:
        for seed in seeds:
            t = time.perf_counter()
            q, manifest, _ = prepare_seed(p, seed, work)
            if shift_sets:  # read by shift_recording: the benchmark's shifts only
                q = {**q, "synth": {**q["synth"], "shift": {**(q["synth"].get("shift") or {}), **shift_sets}}}
            timing["prepare_s"] += time.perf_counter() - t
            kept: dict = {d: {} for d in devices}  # --fuse: per device, each method's (cal, test scores, shifts)
            for m in methods:
                t = time.perf_counter()
                shift_runs = (
                    ("calibration", 1, args.cal_hours, 0.0),
                    ("evaluation", 0, hours, args.anomalies_per_hour),
                )
                kept_at = {
                    d: [
                        work / "scores" / f"{m}_seed{seed}_{d}_{name}_{h:g}h_{rate:g}.npz"
                        for name, _, h, rate in shift_runs
                    ]
                    for d in devices
                }
                models = kept_device_models(q, m, work, seed, kept_at) if args.reuse and not args.feedback else None
                if models is None:
                    models = device_models(q, m, manifest, work / f"seed{seed}", devices)
                    keep_device_models(models, q, m, work, seed)
                timing["models_s"] += time.perf_counter() - t
                for d in devices:
                    dm = models[d]
                    cal, method = dm["cal"], dm["method"]
                    latency[m] = (cal.clip_len - cal.clip_len // 2 - 1) + lookahead(method, cal.context())
                    shifts = {
                        name: shift_scores(
                            path,
                            args.reuse,
                            d,
                            q,
                            seed,
                            shift,
                            h,
                            rate,
                            dm,
                            timing,
                            f"seed {seed} {m} {d} {name}",
                        )
                        for (name, shift, h, rate), path in zip(shift_runs, kept_at[d])
                    }
                    if fused:
                        kept[d][m] = (cal, dm["scored"], shifts)
                    measure_policies(
                        m,
                        d,
                        seed,
                        policies,
                        cal,
                        shifts,
                        dm["scored"],
                        scene_type_names(manifest, d),
                        alert,
                        fps,
                        rows,
                        curves,
                        latency[m],
                    )
                    if args.feedback:
                        t = time.perf_counter()
                        r = measure_feedback(args, q, m, d, seed, hours, dm, shifts, work, alert, fps, timing)
                        feedback_rows[m][d].append(r)
                        timing["feedback_s"] += time.perf_counter() - t
                        b, a = summarise([r["before"]], fps, 0), summarise([r["after"]], fps, 0)
                        print(
                            f"  feedback {d}: {r['marked']} false alerts marked in the first {r['split_frame']} frames; "
                            f"rest of the shift {b['false_alerts_per_hour']:.2f} -> {a['false_alerts_per_hour']:.2f} "
                            f"false alerts/h, spans {100 * b['spans_alerted_share']:.0f} -> "
                            f"{100 * a['spans_alerted_share']:.0f} %",
                            flush=True,
                        )
            for d in devices if fused else []:
                cals = {m: kept[d][m][0] for m in methods}
                latency[fused] = max(latency[m] for m in methods)
                measure_policies(
                    fused,
                    d,
                    seed,
                    fused_policies,
                    fused_calibration(cals, alert.release_margin),
                    {k: fused_shift({m: kept[d][m][2][k] for m in methods}) for k in ("calibration", "evaluation")},
                    fused_scored({m: kept[d][m][1] for m in methods}, cals),
                    scene_type_names(manifest, d),
                    alert,
                    fps,
                    rows,
                    curves,
                    latency[fused],
                )
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    result = {
        "profile": args.profile,
        "seeds": seeds,
        "devices": devices,
        "fps": fps,
        "hours_per_device": args.hours,
        "cal_hours_per_device_seed": args.cal_hours,
        "anomalies_per_hour": args.anomalies_per_hour,
        "alert_settings": alert.__dict__,
        "overrides": args.set,
        "shift_settings": shift_sets,
        "methods": {},
        **timing,
        "total_s": time.perf_counter() - t_all,
        "command": "python benchmarks/bench_alerts.py " + " ".join(sys.argv[1:]),
    }
    for m in rows:
        result["methods"][m] = {}
        for pol in rows[m]:
            all_rows = [r for d in devices for r in rows[m][pol][d]]
            result["methods"][m][pol] = {
                **summarise(all_rows, fps, latency[m]),
                "per_device": {d: summarise(rows[m][pol][d], fps, latency[m]) for d in devices},
                "curve": [
                    curve_point(float(o), summarise(curves[m][pol][str(o)], fps, latency[m])) for o in CURVE_OFFSETS
                ],
                "per_seed_device": {d: rows[m][pol][d] for d in devices},
            }
            result["methods"][m][pol]["at_target"] = at_target(result["methods"][m][pol]["curve"])
            result["methods"][m][pol]["at_target_strict"] = at_target(
                [{"offset": c["offset"], **c["strict"]} for c in result["methods"][m][pol]["curve"]]
            )
    if args.feedback:
        result["feedback"] = {
            "policy": args.feedback_policy,
            "floor": args.feedback_floor,
            "marked_hours": args.feedback_hours,
            "marked_share": FEEDBACK_SHARE if args.feedback_hours is None else None,
            **{k: getattr(FeedbackSettings.from_params(p), k) for k in ("context_frames", "context_cycles")},
            "target": {
                "false_alerts_ratio_max": FEEDBACK_RATIO_TARGET,
                "spans_alerted_change_points_max": FEEDBACK_SPAN_POINTS,
            },
            "methods": {
                m: {
                    **feedback_summary([r for d in devices for r in feedback_rows[m][d]], fps, latency[m]),
                    "per_device": {d: feedback_summary(feedback_rows[m][d], fps, latency[m]) for d in devices},
                    "per_seed_device": {d: feedback_rows[m][d] for d in devices},
                }
                for m in methods
            },
        }
    write_result(args.out, result)
    plot(result, RESULTS / f"{args.out}.png")


def measure_policies(
    m: str,
    d: str,
    seed: int,
    policies: list[str],
    cal: Calibration,
    shifts: dict,
    scored,
    names: dict,
    alert: AlertSettings,
    fps: float,
    rows: dict,
    curves: dict,
    latency: int,
) -> None:
    """Each alert policy of method `m` on device `d`'s shifts and test videos: its row and its trade-off
    curve appended to `rows` and `curves`, one line printed."""
    grace = cal.clip_len // 2
    for pol in policies:
        c = policy_calibration(pol, cal, shifts["calibration"], alert, fps)
        r = evaluate_policy(c, shifts["evaluation"], scored, fps, grace, 0.0, names)
        rows[m][pol][d].append({"seed": seed, **r})
        for o in CURVE_OFFSETS:
            curves[m][pol][str(o)].append(
                evaluate_policy(c, shifts["evaluation"], scored, fps, grace, float(o), diagnose=False)
            )
        s = summarise([r], fps, latency)
        print(
            f"  {m} {pol:8s} {d}: {s['false_alerts_per_hour']:.2f} false alerts/h, spans "
            f"{100 * s['spans_alerted_share']:.0f} %, time to alert {s['time_to_alert_s']['median']}",
            flush=True,
        )


def curve_point(offset: float, s: dict) -> dict:
    """One point of the trade-off curve (the threshold moved by `offset`) from its ``summarise``: plain
    and strict (an alert raised more than ``EARLY_S`` before its spans counted false, those spans not
    alerted: what hysteresis holds open does not count)."""
    return {
        "offset": offset,
        **{k: s[k] for k in ("false_alerts_per_hour", "spans_alerted_share", "spans_reached_early")},
        "time_to_alert_median_s": s["time_to_alert_s"]["median"],
        "strict": s["strict"],
    }


def at_target(curve: list[dict], max_false: float = 1.0) -> dict | None:
    """The curve's point with the most spans alerted at <= max_false false alerts per hour."""
    ok = [c for c in curve if c["false_alerts_per_hour"] is not None and c["false_alerts_per_hour"] <= max_false]
    return max(ok, key=lambda c: (c["spans_alerted_share"] or 0, -c["offset"])) if ok else None


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for m, pols in result["methods"].items():
        for pol, r in pols.items():
            xs = [c["false_alerts_per_hour"] for c in r["curve"]]
            ys = [100 * c["spans_alerted_share"] for c in r["curve"]]
            (line,) = ax.plot(xs, ys, marker=".", label=f"{m} / {pol}")
            ax.plot(
                [r["false_alerts_per_hour"]],
                [100 * r["spans_alerted_share"]],
                "o",
                ms=9,
                color=line.get_color(),
                mfc="none",
            )
    for m, r in (result.get("feedback") or {}).get("methods", {}).items():  # --feedback: the rest of the shift
        b, a = r["before"], r["after"]
        if None in (
            b["false_alerts_per_hour"],
            a["false_alerts_per_hour"],
            b["spans_alerted_share"],
            a["spans_alerted_share"],
        ):
            continue
        xy0 = (b["false_alerts_per_hour"], 100 * b["spans_alerted_share"])
        xy1 = (a["false_alerts_per_hour"], 100 * a["spans_alerted_share"])
        ax.annotate("", xy=xy1, xytext=xy0, arrowprops={"arrowstyle": "->", "color": "black", "lw": 1.2})
        ratio = f"x{r['false_alerts_ratio']:.2f}" if r["false_alerts_ratio"] is not None else "x -"
        change = r["spans_alerted_change_points"]
        ax.plot(
            *zip(xy0, xy1),
            "s",
            color="black",
            ms=5,
            label=f"{m} / {result['feedback']['policy']}, rest of shift before -> after the marks: {ratio} false "
            f"alerts, spans {'-' if change is None else f'{change:+.1f}'} pts",
        )
    ax.axvline(1.0, color="grey", ls="--", lw=0.8)
    ax.axhline(90, color="grey", ls="--", lw=0.8)
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(left=0)  # false alerts are never negative (symlog's margin would show a -1 tick)
    ax.set_xlabel("false alerts per camera-hour (normal shift footage)")
    ax.set_ylabel("anomalous spans alerted (%)")
    ax.set_title(
        f"Alerts: seeds {','.join(map(str, result['seeds']))}, {result['hours_per_device']:g} h per device "
        f"({', '.join(result['devices'])})",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    tmp.replace(path)


if __name__ == "__main__":
    main()
