"""Evaluation plots: ROC curves per method, and score curves in the style of the paper's Fig. 6
(anomaly score over frames, ground-truth anomalous spans shaded).

One visual language in every plot: **labelled anomalous** frames are a grey hatched band, **alerts**
(frames above the calibrated threshold) a red band - so a plot with both shows where the detector
fired against where the labels say it should have."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from ..io_utils import atomic_path

LABELLED = {"facecolor": "0.6", "alpha": 0.25, "hatch": "///", "edgecolor": "0.35", "lw": 0}
ALERT = {"color": "crimson", "alpha": 0.22, "lw": 0}


def first_frame_note(clip_len: int) -> str:
    """Why a score curve starts at frame clip_len // 2."""
    return (
        f"the first scored frame is {clip_len // 2}: a clip's score stands for its centre frame, so the first "
        f"{clip_len // 2} frames have no whole clip around them"
    )


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def roc_points(scored: dict[str, pd.DataFrame], column: str = "score") -> pd.DataFrame:
    """ROC points of each method (scene-normalised scores) as a long table: method, fpr, tpr."""
    rows = []
    for method, df in scored.items():
        if df.label.nunique() < 2:
            continue
        fpr, tpr, _ = roc_curve(df.label, df[column])
        keep = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), 200)).astype(int))
        rows.append(pd.DataFrame({"method": method, "fpr": fpr[keep].round(4), "tpr": tpr[keep].round(4)}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["method", "fpr", "tpr"])


def plot_roc(points: pd.DataFrame, aucs: dict[str, float], title: str, out: str | Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.2, 4))
    for method, g in points.groupby("method", sort=False):
        ax.plot(g.fpr, g.tpr, label=f"{method} (AUC {aucs.get(method, float('nan')):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return Path(out)


def plot_score_curves(scored: dict[str, pd.DataFrame], title: str, out: str | Path, fps: float | None = None) -> Path:
    """One panel per test video: each method's score over frames, anomalous frames shaded; seconds
    on the axis when the scene's `fps` is known (the manifest's)."""
    plt = _plt()
    scale = (1 / fps) if fps else 1
    first = next(iter(scored.values()))
    videos = list(dict.fromkeys(first.video))
    fig, axes = plt.subplots(len(videos), 1, figsize=(8, 1.6 * len(videos)), squeeze=False, sharey=True)
    for ax, video in zip(axes[:, 0], videos):
        ref = first[first.video == video]
        lab = ref.label.to_numpy()
        x = ref.center.to_numpy()
        for s, e in true_runs(lab):
            ax.axvspan((x[s] - 0.5) * scale, (x[e - 1] + 0.5) * scale, **LABELLED)
        for method, df in scored.items():
            d = df[df.video == video]
            ax.plot(d.center * scale, d.score, lw=1, label=method)
        ax.set_ylabel(f"video {video}\nscore (0-1)", fontsize=7)
        ax.tick_params(labelsize=6)
    axes[0, 0].legend(fontsize=6, loc="upper right", ncol=len(scored))
    axes[0, 0].set_title(
        f"{title}: each method's combined score, min-max normalised over the scene's test videos\n"
        f"grey hatched = labelled anomalous",
        fontsize=8,
    )
    first = int(first.center.min()) if len(first) else 0
    axes[-1, 0].set_xlabel(
        f"{f'time (s) at {fps:g} fps' if fps else 'frame'} (a clip's centre; {first_frame_note(2 * first)})", fontsize=7
    )
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return Path(out)


def true_runs(labels: np.ndarray) -> list[tuple[int, int]]:
    """(start, end exclusive) of each run of true values."""
    out, start = [], None
    for i, v in enumerate(list(labels) + [0]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            out.append((start, i))
            start = None
    return out


def plot_alert_timeline(
    frames: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    alerts: list,
    title: str,
    out: str | Path,
    fps: float | None = None,
    labels: np.ndarray | None = None,
    score_label: str = "calibrated score",
    clip_len: int | None = None,
) -> Path:
    """Calibrated score over time with the threshold, the alert spans (red) and, where the footage is
    labelled (`labels` per scored frame, 1 = anomalous), the labelled spans (grey hatched): what
    `ipad score` draws. Seconds on the axis when `fps` is known."""
    from matplotlib.patches import Patch

    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 2.8))
    scale = (1 / fps) if fps else 1
    frames = np.asarray(frames)
    x = frames * scale
    handles = []
    if labels is not None:
        for s, e in true_runs(np.asarray(labels) == 1):
            ax.axvspan((frames[s] - 0.5) * scale, (frames[e - 1] + 0.5) * scale, **LABELLED)
        handles.append(Patch(**{k: v for k, v in LABELLED.items() if k != "lw"}, label="labelled anomalous"))
    for a in alerts:
        ax.axvspan((a.start - 0.5) * scale, (a.end + 0.5) * scale, **ALERT)
    handles.append(Patch(color=ALERT["color"], alpha=ALERT["alpha"], label="alert"))
    (line,) = ax.plot(x, scores, lw=1, color="tab:blue", label="score")
    thr = ax.axhline(threshold, color="crimson", lw=1, ls="--", label=f"threshold {threshold:.2f}")
    note = f"; {first_frame_note(clip_len)}" if clip_len else ""
    ax.set_xlabel(("time (s)" if fps else "frame") + note, fontsize=7)
    ax.set_ylabel(score_label if len(score_label) < 40 else "calibrated score", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(handles=[line, thr, *handles], fontsize=7, loc="upper right")
    sub = f"\n{score_label}" if len(score_label) >= 40 else ""
    ax.set_title(f"{title}: {len(alerts)} alert(s){sub}", fontsize=8)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return Path(out)
