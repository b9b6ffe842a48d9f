"""A scene's evaluation from its per-clip scores: reconstruction score, period error E_p, their
combination (seed 000 §4.3: the reconstruction error is combined with E_p), each under both
protocols, plus per-anomaly-type AUCs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .protocols import minmax, normalise, per_type_auc, scene_auc
from .sliding_window import period_error


def add_scores(df: pd.DataFrame, n_classes: int | None, window: int = 5, step: float = 1.0,
               period_weight: float = 0.5, protocol: str = "scene") -> pd.DataFrame:
    """Add `recon_score` (1 - normalised PSNR), `period_score` (normalised E_p) and `score`
    ((1 - w) * recon + w * period; recon alone when the model has no period head)."""
    df = df.copy()
    groups = [g.index for _, g in df.groupby("video_index", sort=True)]
    psnr = [df.loc[i, "psnr"].to_numpy() for i in groups]
    recon = normalise([-p for p in psnr], protocol)
    df["recon_score"] = np.concatenate(recon) if recon else []
    has_period = n_classes is not None and (df.t_p >= 0).all()
    if has_period:
        ep = [period_error(df.loc[i, "t_p"].to_numpy(), n_classes, window, step) for i in groups]
        df["period_error"] = np.concatenate(ep)
        df["period_score"] = np.concatenate(normalise(ep, protocol))
        df["score"] = (1 - period_weight) * df.recon_score + period_weight * df.period_score
    else:
        df["period_error"] = np.nan
        df["period_score"] = np.nan
        df["score"] = df.recon_score
    return df


def scene_metrics(df: pd.DataFrame, n_classes: int | None, type_names: dict[int, str], window: int = 5,
                  step: float = 1.0, period_weight: float = 0.5) -> dict:
    """AUCs of one scene: {"auc": {"scene_norm"|"video_norm": {score kind: auc}},
    "auc_per_type": {type: auc of the combined score, scene norm}}."""
    out: dict = {"auc": {}}
    for protocol in ("scene", "video"):
        s = add_scores(df, n_classes, window, step, period_weight, protocol)
        groups = [g for _, g in s.groupby("video_index", sort=True)]
        labels = [g.label.to_numpy() for g in groups]
        kinds = ["score", "recon_score"] + (["period_score"] if s.period_score.notna().all() else [])
        # scores are already normalised by `protocol`; a second min-max over the scene is monotone
        out["auc"][f"{protocol}_norm"] = {k: scene_auc(labels, [g[k].to_numpy() for g in groups], "scene") for k in kinds}
        if protocol == "scene":
            out["auc_per_type"] = per_type_auc(s.label.to_numpy(), s.type.to_numpy(), minmax(s.score.to_numpy()), type_names)
    return out
