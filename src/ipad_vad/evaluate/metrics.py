"""A scene's evaluation from a method's per-clip scores: its window components (the sliding-window
period error E_p, seed 000 §4.3), each component normalised under both protocols, their weighted
combination (the method's ``weights``; IPAD-VAD: (1 - w) * recon + w * E_p; with a ``NormalScale``,
``fusion.py``, each component on the scale of normal footage first), AUCs of the combined score and
of every component, per-anomaly-type AUCs, and with a period head its phase accuracy."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..methods.abilities import window_components
from ..methods.base import Method, ScoreContext
from ..models.period_head import phase_accuracy
from .fusion import NormalScale
from .protocols import minmax, normalise, per_type_auc, scene_auc


def add_window_components(df: pd.DataFrame, method: Method, ctx: ScoreContext) -> pd.DataFrame:
    """Add the method's window components, computed per video from its clips' t_p in order."""
    names = window_components(method)
    if not names:
        return df
    df = df.copy()
    for name in names:
        df[name] = np.nan
    for _, g in df.groupby("video_index", sort=True):
        vals = method.window_values(g.t_p.to_numpy(), ctx)
        for name, v in vals.items():
            df.loc[g.index, name] = v
    return df


def add_scores(
    df: pd.DataFrame, method: Method, protocol: str = "scene", scale: NormalScale | None = None
) -> pd.DataFrame:
    """Add ``<component>_score`` (normalised by `protocol`) for every component and ``score``: without
    `scale` the weighted sum of the normalised components; with it (``evaluate/fusion.py``) the weighted
    sum of the components on their normal footage's scale, normalised by `protocol`. `df` already holds
    every component's raw value."""
    df = df.copy()
    groups = [g.index for _, g in df.groupby("video_index", sort=True)]
    df["score"] = 0.0
    for name, w in method.weights().items():
        norm = normalise([df.loc[i, name].to_numpy() for i in groups], protocol)
        df[f"{name}_score"] = np.concatenate(norm) if norm else []
        if scale is None:
            df["score"] += w * df[f"{name}_score"]
        elif w > 0:
            df["score"] += w * scale.standardise(name, df[name])
    if scale is not None:
        norm = normalise([df.loc[i, "score"].to_numpy() for i in groups], protocol)
        df["score"] = np.concatenate(norm) if norm else []
    return df


def scene_metrics(
    df: pd.DataFrame, method: Method, type_names: dict[int, str], scale: NormalScale | None = None
) -> dict:
    """AUCs of one scene: {"auc": {"scene_norm"|"video_norm": {"score" | <component>: auc}},
    "auc_per_type": {type: auc of the combined score, scene norm}}; `scale`: as in ``add_scores``."""
    out: dict = {"auc": {}}
    for protocol in ("scene", "video"):
        s = add_scores(df, method, protocol, scale)
        groups = [g for _, g in s.groupby("video_index", sort=True)]
        labels = [g.label.to_numpy() for g in groups]
        kinds = {"score": "score", **{n: f"{n}_score" for n in method.weights()}}
        # scores are already normalised by `protocol`; a second min-max over the scene is monotone
        out["auc"][f"{protocol}_norm"] = {
            k: scene_auc(labels, [g[c].to_numpy() for g in groups], "scene") for k, c in kinds.items()
        }
        if protocol == "scene":
            out["auc_per_type"] = per_type_auc(
                s.label.to_numpy(), s.type.to_numpy(), minmax(s.score.to_numpy()), type_names
            )
    if "t_p" in df and "phase" in df:
        acc = phase_accuracy(df.t_p.to_numpy(), df.phase.to_numpy(), df.label.to_numpy(), method.n_classes)
        if acc is not None:
            out["phase"] = acc
    return out
