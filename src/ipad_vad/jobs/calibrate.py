"""Calibrate a device's model on normal footage it was not fine-tuned on, and measure the alert
threshold on the test set.

Which footage: the device's training videos after the share the adapter was fine-tuned on
(``finetune.fraction`` of each video, taken from its start in `contiguous` mode: what a factory
gets when it records more normal footage than it trains on). Test labels are never used to choose
the threshold. When nothing is held out (fraction 1, `random` mode, or too short videos) the
calibration falls back to all training footage and says so in `source`: such a threshold is
optimistic, since the model has seen those frames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..alerts.alert_tracker import find_alerts
from ..alerts.calibration import Calibration, fit_calibration
from ..evaluate.metrics import add_window_components
from ..evaluate.plots import true_runs
from ..evaluate.protocols import frame_auc
from ..evaluate.scoring import score_clips
from ..methods import Method, ScoreContext
from ..train.loop import resolve_device
from .data import DataSource, heldout_dataset
from .settings import AlertSettings, EvaluateSettings, FinetuneSettings


def calibrate(params: dict, method: Method, model: torch.nn.Module, manifest: pd.DataFrame, scene: str,
              ctx: ScoreContext, source: DataSource, finetune: FinetuneSettings, alert: AlertSettings,
              progress: bool = False) -> Calibration:
    """Score the held-out normal footage and fit the calibration (alerts/calibration.py) of every
    component in the method's combined score. `ctx`: the evaluation's scoring context."""
    e = EvaluateSettings.from_params(params)
    ds, source_text = heldout_dataset(params, manifest, scene, source, finetune.fraction, finetune.fraction_mode,
                                      max(2 * e.window, alert.min_calibration_frames))
    device = str(resolve_device(params["train"].get("device", "auto")))
    df = score_clips(method, model, ds, e.batch_size, device, progress=progress, amp=params["train"].get("amp", True))
    df = add_window_components(df, method, ctx)
    rows = manifest[(manifest.scene == scene) & (manifest.split == "training")]
    return fit_calibration(
        method.name, df, method.weights(), alert.false_alarm_rate, n_classes=ctx.n_classes, window=ctx.window,
        period_step=ctx.period_step, clip_len=ds.clip_len, frame_size=tuple(params["clip"]["size"]),
        source_size=(int(rows.height.iloc[0]), int(rows.width.iloc[0])), min_frames=alert.min_frames,
        merge_gap=alert.merge_gap, source=source_text)


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
        alerts = find_alerts(frames, s, cal.threshold, cal.min_frames, cal.merge_gap)
        for a in alerts:
            inside = labels[(frames >= a.start) & (frames <= a.end)]
            false_alerts += int(not (inside == 1).any())
        for lo, hi in true_runs(labels == 1):
            spans += 1
            hit += int(any(a.start <= frames[hi - 1] and a.end >= frames[lo] for a in alerts))
        out_videos.append({"video": g.video.iloc[0], "alerts": len(alerts), "anomalous_frames": int(labels.sum())})
    s, labels = np.concatenate(s_all), np.concatenate(labels_all)
    normal, abnormal = labels == 0, labels == 1
    return {
        "threshold": cal.threshold, "target_false_alarm_rate": cal.false_alarm_rate,
        "test_false_alarm_rate": float((s[normal] > cal.threshold).mean()) if normal.any() else float("nan"),
        "test_recall": float((s[abnormal] > cal.threshold).mean()) if abnormal.any() else float("nan"),
        "auc_calibrated": frame_auc(labels, s),
        "anomalous_spans": spans, "spans_alerted": hit, "false_alerts": false_alerts,
        "false_alerts_per_1000": 1000.0 * false_alerts / max(int(normal.sum()), 1), "videos": out_videos,
    }
