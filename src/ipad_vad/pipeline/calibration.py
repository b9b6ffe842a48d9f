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

import dataclasses

import numpy as np
import pandas as pd
import torch

from ..alerts.calibration import Calibration, fit_calibration
from ..alerts.alert_tracker import find_alerts
from ..data.clip_dataset import ClipDataset
from ..data.sampling import FractionSampler
from ..evaluate.plots import true_runs
from ..evaluate.protocols import frame_auc
from ..evaluate.scoring import score_clips
from ..evaluate.sliding_window import period_error
from ..train.loop import resolve_device
from ..train.runs import _n_classes, dataset


def heldout_dataset(params: dict, manifest: pd.DataFrame, scene: str) -> tuple[ClipDataset, str]:
    """Stride-1 clips of the training footage the fine-tuning did not use (see the module doc)."""
    f = params["finetune"]
    tuned = dataset(params, manifest, "training", [scene])
    full = dataset(params, manifest, "training", [scene], stride=1)
    T = tuned.clip_len
    min_clips = max(2 * int(params["evaluate"].get("window", 5)), int(params["alert"].get("min_calibration_frames", 32)))
    if f.get("fraction_mode", "contiguous") == "contiguous" and float(f["fraction"]) < 1:
        used = FractionSampler(tuned, float(f["fraction"]), "contiguous", shuffle=False).indices
        cutoff = {}
        for i in used:
            vi, start = tuned.index[i]
            cutoff[vi] = max(cutoff.get(vi, 0), start + T)
        videos = []
        for vi, v in enumerate(full.videos):
            lo, hi = v.span or (0, len(v.source))
            videos.append(dataclasses.replace(v, span=(max(lo, cutoff.get(vi, lo)), hi)))
        held = ClipDataset(videos, clip_len=T, stride=1)
        if len(held) >= min_clips:
            return held, f"training footage after the {float(f['fraction']):g} share used for fine-tuning"
    return full, "all training footage (nothing held out from fine-tuning: the threshold is optimistic)"


def calibrate(params: dict, manifest: pd.DataFrame, scene: str, model: torch.nn.Module, period_step: float,
              progress: bool = False) -> Calibration:
    """Score the held-out normal footage and fit the calibration (alerts/calibration.py).
    `period_step`: the evaluation's reference step (``metrics["period_step"]`` of train.runs.evaluate)."""
    e, a = params["evaluate"], params["alert"]
    ds, source = heldout_dataset(params, manifest, scene)
    device = str(resolve_device(params["train"].get("device", "auto")))
    df = score_clips(model, ds, e.get("batch_size", 16), device, progress=progress, amp=params["train"].get("amp", True))
    n_classes = _n_classes(model)
    window, weight = int(e.get("window", 5)), float(e.get("period_weight", 0.5))
    groups = [g for _, g in df.groupby("video_index", sort=True)]
    errors = [period_error(g.t_p.to_numpy(), n_classes, window, period_step) for g in groups] if n_classes else None
    rows = manifest[(manifest.scene == scene) & (manifest.split == "training")]
    return fit_calibration(
        [g.psnr.to_numpy() for g in groups], errors, float(a["false_alarm_rate"]), weight if n_classes else 0.0,
        n_classes=n_classes or 0, window=window, period_step=period_step, clip_len=ds.clip_len,
        frame_size=tuple(params["clip"]["size"]), source_size=(int(rows.height.iloc[0]), int(rows.width.iloc[0])),
        min_frames=int(a["min_frames"]), merge_gap=int(a["merge_gap"]), source=source)


def alert_metrics(scored: pd.DataFrame, cal: Calibration) -> dict:
    """How the threshold does on the test set: frame false-alarm rate on normal frames, recall of
    anomalous frames, AUC of the calibrated score, and alerts on the all-normal / anomalous videos."""
    out_videos, hit, spans, false_alerts = [], 0, 0, 0
    s_all, labels_all = [], []
    for _, g in scored.groupby("video_index", sort=True):
        s = cal.score(g.psnr.to_numpy(), g.period_error.to_numpy())
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
        "anomalous_spans": spans, "spans_alerted": hit, "false_alerts": false_alerts, "videos": out_videos,
    }

