"""Evaluate a method on a scene: score every test clip, add its window components, AUCs under both
protocols (combined score — its components on the scale of the scene's normal training footage,
``evaluate.fusion`` — and every component), per-type AUCs; for a device also its alert
calibration (``jobs/calibrate.py``). Writes ``eval/.../<method>/{metrics.json, scores.parquet,
calibration.json}`` (``jobs/layout.py``)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pandas as pd
import torch

from ..data.layout import read_type_names
from ..errors import DataError
from ..evaluate.fusion import normal_scale
from ..evaluate.metrics import add_scores, add_window_components, scene_metrics
from ..evaluate.scoring import ClipScorer
from ..io_utils import read_dataframe, write_dataframe, write_json
from ..methods import Method, ScoreContext, get_method, load_model_file
from ..methods.abilities import score_context
from ..methods.adaptation import load_adapted
from .data import DataSource, clip_dataset, scene_cycle_frames
from .layout import adapter_dir, base_dir, eval_dir, role
from .settings import AdaptSettings, AlertSettings, EvaluateSettings


def evaluate(
    params: dict,
    method: Method,
    model: torch.nn.Module,
    manifest: pd.DataFrame,
    scene: str,
    source: DataSource,
    progress: bool = True,
) -> tuple[pd.DataFrame, dict, ScoreContext]:
    """(scored clips with every component and the scene-norm scores, metrics, the scoring context)."""
    e = EvaluateSettings.from_params(params)
    score = e.scorer(params, method, progress)
    df = score(model, clip_dataset(params, manifest, "testing", [scene], source, stride=1))
    ctx = score_context(method, scene_cycle_frames(params, manifest, scene, source))
    df = add_window_components(df, method, ctx)
    scale = None
    if e.fusion == "normal" and len(method.active_components()) > 1:
        normal = training_scores(params, score, model, manifest, scene, source, ctx)
        scale = normal_scale(normal, method.active_components())  # evaluate/fusion.py
    metrics = scene_metrics(df, method, scene_type_names(manifest, scene), scale)
    metrics.update(
        {
            "scene": scene,
            "method": method.name,
            "label": method.label,
            "n_clips": len(df),
            "n_anomalous": int((df.label == 1).sum()),
            "weights": method.weights(),
            "context": asdict(ctx),
            "fusion": scale.to_dict() if scale else e.fusion,
        }
    )
    return add_scores(df, method, "scene", scale), metrics, ctx


def training_scores(
    params: dict,
    score: ClipScorer,
    model: torch.nn.Module,
    manifest: pd.DataFrame,
    scene: str,
    source: DataSource,
    ctx: ScoreContext,
) -> pd.DataFrame:
    """Every stride-1 clip of the scene's normal training footage scored by `model`, its window
    components in the scene's context: what puts the components on one scale (``evaluate.fusion``)."""
    ds = clip_dataset(params, manifest, "training", [scene], source, stride=1)
    if len(ds) == 0:
        raise DataError(
            f"scene {scene}", "no training footage to put the score components on one scale (evaluate.fusion)"
        )
    return add_window_components(score(model, ds), score.method, ctx)


def scene_type_names(manifest: pd.DataFrame, scene: str) -> dict[int, str]:
    """The anomaly type names the scene's footage declares, found beside its frames (the manifest
    says where: ``<root>/<scene>/<split>/frames/<NN>``); empty (types shown by code) if none."""
    rows = manifest[manifest.scene == scene]
    if rows.empty:
        return {}
    return read_type_names(Path(rows.frames_dir.iloc[0]).parents[3], scene)


def load_for_scene(params: dict, method_name: str, scene: str) -> tuple[Method, torch.nn.Module]:
    """The model that evaluates `scene`: a device's adapted model, a pretrain scene's base."""
    if role(params, scene) == "devices":
        return load_adapted(adapter_dir(params, method_name, scene), base_dir(params, method_name) / "model.pt")
    return load_model_file(base_dir(params, method_name) / "model.pt")


def evaluate_scene(
    params: dict, method_name: str, scene: str, progress: bool = True, source: DataSource = DataSource.PREPARED
) -> dict:
    """The pipeline's evaluation of one scene by one method; a device is also calibrated."""
    from .calibrate import alert_metrics, calibrate

    manifest = read_dataframe(params["data"]["manifest"])
    _, model = load_for_scene(params, method_name, scene)
    method = get_method(method_name, params)  # this run's scoring settings (evaluate.*) with the saved model
    scored, metrics, ctx = evaluate(params, method, model, manifest, scene, source, progress)
    out = eval_dir(params, scene, method_name)
    if role(params, scene) == "devices":  # the alert threshold that ships with the registered model
        f, a = AdaptSettings.from_params(params), AlertSettings.from_params(params)
        cal = calibrate(params, method, model, manifest, scene, ctx, source, f, a, progress)
        write_json(out / "calibration.json", cal.to_dict())
        metrics["alerts"] = alert_metrics(scored, cal)
    write_dataframe(out / "scores.parquet", scored)
    write_json(out / "metrics.json", metrics)
    return metrics


def evaluate_pretrain_scenes(params: dict, method_name: str, progress: bool = True) -> dict:
    """A method's base model on every pretrain scene (one job: the base changes for all of them).
    Writes ``eval/pretrain/<method>/summary.json`` even when there are no pretrain scenes (a dataset
    whose base models learn from the devices), so the stage's output always exists."""
    results = {s: evaluate_scene(params, method_name, s, progress) for s in params["pipeline"]["pretrain_scenes"]}
    root = Path(params["pipeline"]["eval_root"]) / "pretrain" / method_name
    write_json(
        root / "summary.json",
        {"method": method_name, "auc": {s: m["auc"]["scene_norm"]["score"] for s, m in results.items()}},
    )
    return results
