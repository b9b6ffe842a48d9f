"""Calibrate a device's model on normal footage it was not adapted on, and measure the alert
threshold on the test set.

Which footage: the device's training videos after the share the model was adapted on
(``adapt.fraction`` of each video, taken from its start in `contiguous` mode: what a factory
gets when it records more normal footage than it trains on). Test labels are never used to choose
the threshold. When nothing is held out (fraction 1, `random` mode, or too short videos) the
calibration falls back to all training footage and says so in `source`: such a threshold is
optimistic, since the model has seen those frames.

A method that adapted on all of the footage but can leave a recording out of its model
(``MemoryBankMixin.heldout_model``: a memory bank with ``bank_footage: all``) is calibrated on every
training recording, each scored by the model without it (leave one recording out): every
calibration score comes from footage its model has not seen, as a new recording will be, and no
footage is kept from the model. It needs two training recordings or more; with one, the held-out
share above is used.

A method set to adapt on all of a device's training footage (``adapt_footage: all``) on a device with
calibration recordings (below) is calibrated on those alone: the map of its components and the threshold
both come from footage no model trained on.

Long normal footage (issue 26, 3): when the device has recordings in its ``calibration`` split
(``ipad data import --split calibration``; the generator's ``synth.calibration_minutes``), they are
scored by the device's model — which never trained on them — and the threshold is set on their tail:
the lowest at which the alert logic raises at most ``alert.alerts_per_hour`` alerts per nominal hour
of them (``alerts/calibration.fit_shift_calibration``; never below the threshold above). The affine
map of the components stays the one above; the calibration records the footage and settings it was
set on and the held-out threshold it replaced (``extra.shift_calibration``), and travels with the
registered version.

Operator feedback (issue 26, 5): training recordings made from marked false alarms (``ipad alerts
export``; the manifest's ``origin``) are learnt by the model but left out of the held-out calibration
(``alert.heldout_skips_marked``; ``marked_false_alarms``).
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd
import torch

from ..alerts.alert_tracker import AlertTracker, feed_all
from ..alerts.calibration import Calibration, fit_calibration, fit_shift_calibration
from ..alerts.feedback import FALSE_ALARM
from ..data.clip_dataset import ClipDataset
from ..data.manifest import scene_rows
from ..errors import DataError
from ..evaluate.metrics import add_window_components
from ..evaluate.plots import true_runs
from ..evaluate.protocols import frame_auc
from ..evaluate.scoring import ClipScorer
from ..methods import Method, ScoreContext
from ..methods.abilities import MemoryBankMixin, adapt_fraction, adapts_on_all_footage
from .data import DataSource, clip_dataset, heldout_dataset
from .settings import AdaptSettings, AlertSettings, EvaluateSettings


def calibrate(
    params: dict,
    method: Method,
    model: torch.nn.Module,
    manifest: pd.DataFrame,
    scene: str,
    ctx: ScoreContext,
    source: DataSource,
    adapt: AdaptSettings,
    alert: AlertSettings,
    progress: bool = False,
) -> Calibration:
    """Score the held-out normal footage and fit the calibration (alerts/calibration.py) of every
    component in the method's combined score. `ctx`: the evaluation's scoring context."""
    e = EvaluateSettings.from_params(params)
    score = e.scorer(params, method, progress)
    training = scene_rows(manifest, scene, "training")
    n_calibration = len(scene_rows(manifest, scene, "calibration"))
    skip = marked_false_alarms(manifest, scene) if alert.heldout_skips_marked else frozenset()
    footage = None  # the calibration recordings' scores, when the map is set on them (scored once)
    if adapts_on_all_footage(method, n_calibration):  # no model saw the calibration recordings: set on them
        footage = score_calibration_footage(params, score, model, manifest, scene, source)
        df, ds = footage
        source_text = f"{n_calibration} calibration recording(s) of {scene} (adapted on all of its training footage)"
    else:
        fraction = adapt_fraction(method, adapt.fraction, len(training))
        # a bank that holds all of the training footage: each recording against a bank without it
        left_out = (
            leave_one_recording_out(params, score, model, manifest, scene, source, skip) if fraction >= 1 else None
        )
        if left_out is not None:
            df, ds, source_text = left_out
        else:  # the share of each training recording the adaptation did not read
            ds, source_text = heldout_dataset(
                params,
                manifest,
                scene,
                source,
                fraction,
                adapt.fraction_mode,
                max(2 * e.window, alert.min_calibration_frames),
                skip,
            )
            df = score(model, ds)
    if skip:
        source_text += f"; {len(skip)} recording(s) of marked false alarms left out"
    df = add_window_components(df, method, ctx)
    heldout = fit_calibration(
        method.name,
        df,
        method.weights(),
        alert.false_alarm_rate,
        **asdict(ctx),
        clip_len=ds.clip_len,
        frame_size=tuple(params["clip"]["size"]),
        source_size=(int(training.height.iloc[0]), int(training.width.iloc[0])),
        min_frames=alert.min_frames,
        merge_gap=alert.merge_gap,
        merge_stretch=alert.merge_stretch,
        merge_gap_max=alert.merge_gap_max,
        release_margin=alert.release_margin,
        hold_quantile=alert.hold_quantile,
        hold_max=alert.hold_max,
        source=source_text,
    )
    return shift_calibrate(params, score, model, manifest, scene, ctx, source, alert, heldout, footage)


def shift_calibrate(
    params: dict,
    score: ClipScorer,
    model: torch.nn.Module,
    manifest: pd.DataFrame,
    scene: str,
    ctx: ScoreContext,
    source: DataSource,
    alert: AlertSettings,
    heldout: Calibration,
    footage: tuple[pd.DataFrame, ClipDataset] | None = None,
) -> Calibration:
    """`heldout` with its threshold set on the scene's ``calibration`` recordings (module docstring);
    `heldout` itself when the scene has none. Scored by `score`, or `footage`: those recordings already
    scored (``score_calibration_footage``)."""
    rows = scene_rows(manifest, scene, "calibration")
    if rows.empty:
        return heldout
    raw, ds = footage or score_calibration_footage(params, score, model, manifest, scene, source)
    df = add_window_components(raw, score.method, ctx)
    values = frames_in_order(df, [len(v.source) for v in ds.videos], heldout.components, alert.merge_gap + 1)
    seconds = float((rows.n_frames / rows.fps).sum())  # each recording at its own frame rate
    return fit_shift_calibration(  # records the held-out threshold it replaced (extra.shift_calibration)
        heldout,
        values,
        alert,
        fps=float(rows.n_frames.sum()) / seconds,
        source=f"{len(rows)} calibration recording(s) of {scene}, {seconds / 3600:.2f} nominal h of normal footage",
    )


def score_calibration_footage(
    params: dict, score: ClipScorer, model: torch.nn.Module, manifest: pd.DataFrame, scene: str, source: DataSource
) -> tuple[pd.DataFrame, ClipDataset]:
    """Scores of every stride-1 clip of the scene's ``calibration`` recordings (which must have a frame
    rate: alerts per hour are counted on them), and their dataset."""
    rows = scene_rows(manifest, scene, "calibration")
    unknown = rows[rows.fps.isna()]
    if len(unknown):
        raise DataError(
            unknown.frames_dir.iloc[0],
            "calibration footage without a frame rate: alerts per hour cannot be counted (import it from a "
            "video file with `ipad data import --split calibration`, or give its periods/calibration_NN.json an fps)",
        )
    ds = clip_dataset(params, manifest, "calibration", [scene], source, stride=1)
    return score(model, ds), ds


def marked_false_alarms(manifest: pd.DataFrame, scene: str) -> frozenset[str]:
    """The scene's training recordings made from alerts an operator marked false alarms (the manifest's
    ``origin``, recorded by ``ipad alerts export``), to be left out of the held-out calibration: they were
    chosen *because* the old model scored them high, so they are the tail of normal work, not a sample
    of it, and each, scored without itself, drew the held-out threshold up (docs/alerts.md, operator
    feedback). None are left out when they are all the scene's training footage."""
    if "origin" not in manifest:  # a manifest written before the column existed has no feedback recordings
        return frozenset()
    rows = scene_rows(manifest, scene, "training")
    marked = frozenset(rows.video[rows.origin == FALSE_ALARM])
    return marked if len(marked) < len(rows) else frozenset()


def frames_in_order(
    df: pd.DataFrame, lengths: list[int], components: tuple[str, ...], gap: int
) -> dict[str, np.ndarray]:
    """Each component's clip values at their centre frames, recording after recording, NaN where no
    clip is centred and `gap` NaN frames between two recordings (an alert never spans two)."""
    starts = np.concatenate([[0], np.cumsum(np.asarray(lengths) + gap)])
    out = {c: np.full(int(starts[-1]), np.nan) for c in components}
    where = starts[df.video_index.to_numpy()] + df.center.to_numpy()
    for c in components:
        out[c][where] = df[c].to_numpy(np.float64)
    return out


def leave_one_recording_out(
    params: dict,
    score: ClipScorer,
    model: torch.nn.Module,
    manifest: pd.DataFrame,
    scene: str,
    source: DataSource,
    skip: frozenset[str] = frozenset(),
) -> tuple[pd.DataFrame, ClipDataset, str] | None:
    """Scores of every stride-1 clip of the scene's training recordings, each recording scored by
    ``score.method.heldout_model(model, its index)``; None when there are fewer than two recordings or the
    method cannot leave one out (no memory bank, or a bank that does not know its recordings).
    Recordings named in `skip` are not scored (they stay in every other recording's model)."""
    method = score.method
    if not isinstance(method, MemoryBankMixin):
        return None
    full = clip_dataset(params, manifest, "training", [scene], source, stride=1)
    if len(full.videos) < 2:
        return None
    parts = []
    for vi, video in enumerate(full.videos):
        if video.video in skip:
            continue
        held = method.heldout_model(model, vi)
        if held is None:
            return None
        one = ClipDataset([video], clip_len=full.clip_len, stride=1)
        if len(one) == 0:
            continue
        part = score(held, one)
        parts.append(part.assign(video_index=vi))
    if not parts:
        return None
    n = sum(v.video not in skip for v in full.videos)
    which = f"all {n}" if n == len(full.videos) else str(n)
    text = f"{which} training recordings, each against the model without it (leave one recording out)"
    return pd.concat(parts, ignore_index=True), full, text


def alert_metrics(scored: pd.DataFrame, cal: Calibration) -> dict:
    """How the threshold does on the test set: frame false-alarm rate on normal frames, recall of
    anomalous frames, AUC of the calibrated score, anomalous spans alerted and false alerts (also per
    1,000 normal frames)."""
    out_videos, hit, spans, false_alerts = [], 0, 0, 0
    s_all, labels_all = [], []
    for _, g in scored.groupby("video_index", sort=True):
        s = cal.score(g)
        labels, frames = g.label.to_numpy(), g.center.to_numpy()
        s_all.append(s)
        labels_all.append(labels)
        alerts = feed_all(AlertTracker.from_calibration(cal), frames, s)
        for a in alerts:
            inside = labels[(frames >= a.start) & (frames <= a.end)]
            false_alerts += int(not (inside == 1).any())
        for lo, hi in true_runs(labels == 1):
            spans += 1
            hit += int(any(a.start <= frames[hi - 1] and a.end >= frames[lo] for a in alerts))
        out_videos.append({"video": g.video.iloc[0], "alerts": len(alerts), "anomalous_frames": int(labels.sum())})
    s, labels = np.concatenate(s_all), np.concatenate(labels_all)
    normal, abnormal = labels == 0, labels == 1
    shift = cal.extra.get("shift_calibration")
    return {
        "threshold": cal.threshold,
        "threshold_from": f"calibration footage, {shift['hours']:.2f} h" if shift else "held-out training footage",
        "target_false_alarm_rate": cal.false_alarm_rate,
        "test_false_alarm_rate": float((s[normal] > cal.threshold).mean()) if normal.any() else float("nan"),
        "test_recall": float((s[abnormal] > cal.threshold).mean()) if abnormal.any() else float("nan"),
        "auc_calibrated": frame_auc(labels, s),
        "anomalous_spans": spans,
        "spans_alerted": hit,
        "false_alerts": false_alerts,
        "false_alerts_per_1000": 1000.0 * false_alerts / max(int(normal.sum()), 1),
        "videos": out_videos,
    }
