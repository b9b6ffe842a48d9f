"""AUC protocols (seed 000 §5.1 and the official evaluate.py).

* **scene norm** (the IPAD protocol): scores min-max normalised over *all test videos of a scene*,
  because IPAD has many all-normal and all-abnormal test videos, whose per-video normalisation
  would be meaningless;
* **video norm** (the INFP/ASTNet/MNAD protocol): min-max per video.

Frame-level ROC AUC with scikit-learn over the concatenated clip-centre frames. Every number says
which protocol it is. ``official_auc`` reproduces the official computation exactly:
``roc_auc_score(1 - concat(labels[8:len-7]), minmax_over_scene(concat(psnr)))``.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score


def minmax(x) -> np.ndarray:
    x = np.asarray(x, np.float64)
    lo, hi = np.min(x), np.max(x)
    return np.zeros_like(x) if hi - lo < 1e-12 else (x - lo) / (hi - lo)


def normalise(scores: list[np.ndarray], protocol: str) -> list[np.ndarray]:
    """Normalise a scene's per-video score arrays by `protocol` ('scene' or 'video')."""
    if protocol == "scene":
        flat = minmax(np.concatenate(scores))
        out, k = [], 0
        for s in scores:
            out.append(flat[k : k + len(s)])
            k += len(s)
        return out
    if protocol == "video":
        return [minmax(s) for s in scores]
    raise ValueError(f"protocol must be 'scene' or 'video', got {protocol!r}")


def frame_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC of anomaly scores (high = anomalous) against 0/1 labels; NaN with one class only."""
    labels = np.asarray(labels)
    if labels.min() == labels.max():
        return float("nan")
    return float(roc_auc_score(labels, scores))


def scene_auc(labels: list[np.ndarray], scores: list[np.ndarray], protocol: str = "scene") -> float:
    """AUC over all clip-centre frames of a scene after normalising the scores by `protocol`."""
    return frame_auc(np.concatenate(labels), np.concatenate(normalise(scores, protocol)))


def official_auc(psnr: list[np.ndarray], labels: list[np.ndarray], clip_len: int = 16) -> float:
    """The official evaluate.py: PSNR per clip centre, full-length frame labels per video."""
    half = clip_len // 2
    gt = np.concatenate([np.asarray(lab)[half : len(lab) - (clip_len - half - 1)] for lab in labels])
    return float(roc_auc_score(1 - gt, minmax(np.concatenate(psnr))))


def per_type_auc(labels: np.ndarray, types: np.ndarray, scores: np.ndarray, names: dict[int, str]) -> dict[str, float]:
    """AUC of each anomaly type against the normal frames (other anomalous frames left out), in the
    order `names` declares the types (then codes without a name, ascending)."""
    out = {}
    normal = labels == 0
    codes = set(np.unique(types).tolist()) - {0, -1}
    for code in [c for c in names if c in codes] + sorted(codes - set(names)):
        pos = (types == code) & (labels == 1)
        if pos.any() and normal.any():
            sel = pos | normal
            out[names.get(code, str(code))] = frame_auc(labels[sel], scores[sel])
    return out
