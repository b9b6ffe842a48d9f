"""MLflow tracking. Default store: ``sqlite:///<cwd>/mlflow.db`` with artifacts in ``mlartifacts/``
(both ignored by git); ``MLFLOW_TRACKING_URI`` switches to a server.

Runs are tagged with the git commit and the data version (a hash of the validated manifest, which
names every video with its frame count and labels). Pipeline steps that run in separate processes
(DVC stages) share a parent run through ``IPAD_PIPELINE_ID``: the pipeline flow creates the parent
before its first step (``start_pipeline``); under ``dvc repro`` the first tracked step (``validate``)
creates it; the others find it by that tag, and whoever drove the stages ends it (``finish_pipeline``: ``ipad runs
finish`` after ``dvc repro`` in ``make demo``, the pipeline flow itself, the retraining flows' repro
task) with the pipeline's status, its settings, the mean AUC per method and the report.

Metric names are structured ``<group>/<name>`` (``auc_pct_scene_norm/score``, ``auc_pct_per_type/shift``,
``alerts/threshold``, ``mean_auc_pct/knn``): the same names in every method's run, so the compare view
lines methods up, and MLflow's charts group them by protocol.

AUCs are in percent wherever an operator reads one — log lines, the report, MLflow metrics and
registry tags, ``metrics/summary.json`` — and a name that holds one says so (``_pct``); only the
evaluation's data files (``eval/**/metrics.json``, ``reports/results.json``) keep the fraction in
[0, 1] that they compute (``auc_pct`` converts).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

EXPERIMENT = "ipad-vad"


def tracking_uri() -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path('mlflow.db').resolve()}"


def configure(experiment: str = EXPERIMENT) -> str:
    """Point MLflow at the store and make sure the experiment exists; returns its id."""
    import logging

    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    exp = mlflow.get_experiment_by_name(experiment)
    if exp is None:
        location = None
        if uri.startswith("sqlite:") or uri.startswith("file:"):
            location = Path("mlartifacts").resolve().as_uri()
        exp_id = mlflow.create_experiment(experiment, artifact_location=location)
    else:
        exp_id = exp.experiment_id
    mlflow.set_experiment(experiment_id=exp_id)
    return exp_id


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def data_version(manifest_path: str | Path) -> str:
    p = Path(manifest_path)
    return hashlib.sha256(p.read_bytes()).hexdigest()[:16] if p.is_file() else "unknown"


def _parent_run_id(pipeline_id: str, experiment_id: str) -> str:
    import mlflow

    found = mlflow.search_runs(
        [experiment_id],
        filter_string=f"tags.`ipad.pipeline_id` = '{pipeline_id}' and tags.`ipad.role` = 'pipeline'",
        output_format="list",
        max_results=1,
    )
    if found:
        return found[0].info.run_id
    run = mlflow.MlflowClient().create_run(
        experiment_id,
        run_name=f"pipeline-{pipeline_id}",
        tags={"ipad.pipeline_id": pipeline_id, "ipad.role": "pipeline", "git_commit": git_commit()},
    )
    return run.info.run_id


@contextlib.contextmanager
def run(
    name: str, stage: str, scene: str | None = None, params: dict | None = None, manifest: str | Path | None = None
) -> Iterator:
    """A run for one stage (and scene), child of the pipeline run when ``IPAD_PIPELINE_ID`` is set."""
    import mlflow

    exp_id = configure()
    tags = {"ipad.stage": stage, "git_commit": git_commit()}
    if scene:
        tags["ipad.scene"] = scene
    if manifest:
        tags["data_version"] = data_version(manifest)
    pipeline_id = os.environ.get("IPAD_PIPELINE_ID")
    if pipeline_id:
        tags["mlflow.parentRunId"] = _parent_run_id(pipeline_id, exp_id)
        tags["ipad.pipeline_id"] = pipeline_id
    with mlflow.start_run(run_name=name, tags=tags) as r:
        if params:
            mlflow.log_params(flatten(params))
        yield r


def auc_pct(auc: float) -> float:
    """An AUC (a fraction in [0, 1], as evaluation computes it) in percent, as it is shown, logged and tagged."""
    return round(100.0 * float(auc), 4)


def evaluation_metrics(m: dict, prefix: str = "") -> dict[str, float]:
    """The MLflow metrics of one evaluation (``metrics.json``): ``auc_pct_<protocol>/<component>``,
    ``auc_pct_per_type/<type>`` and ``alerts/<what>`` (rates as fractions; the calibrated score's AUC
    as ``alerts/auc_calibrated_pct``); NaNs left out. `prefix`: a scene, for runs over several."""
    out = {
        metric_name(prefix, f"auc_pct_{proto}", k): auc_pct(v)
        for proto, aucs in m["auc"].items()
        for k, v in aucs.items()
        if v == v
    }
    out.update(
        {metric_name(prefix, "auc_pct_per_type", t): auc_pct(v) for t, v in m.get("auc_per_type", {}).items() if v == v}
    )
    for k, v in m.get("alerts", {}).items():  # devices: threshold, test set
        if isinstance(v, (int, float)) and v == v:
            if k.startswith("auc"):
                out[metric_name(prefix, "alerts", f"{k}_pct")] = auc_pct(v)
            else:
                out[metric_name(prefix, "alerts", k)] = v
    return out


def metric_name(*parts: str) -> str:
    """``a/b/c`` from the parts that are set (a scene prefix is optional)."""
    return "/".join(p for p in parts if p)


def summary_metrics(summary: dict[str, float]) -> dict[str, float]:
    """The report's mean AUC (scene norm, in percent) per method and per component row
    (``mean_auc_pct/ipad_vad:recon_error``); `summary` holds fractions, as ``results.json``."""
    return {metric_name("mean_auc_pct", m): auc_pct(v) for m, v in summary.items() if v == v}


def start_pipeline(pipeline_id: str, params: dict | None = None) -> str:
    """Create the pipeline's parent run now (RUNNING), before its first step, so that every step —
    validation and preparation included — runs under it and its start time is the pipeline's; the
    settings that describe the run are logged at once. Idempotent: a parent that exists is kept.
    Returns the run id."""
    import mlflow
    from mlflow.entities import Param

    run_id = _parent_run_id(pipeline_id, configure())
    client = mlflow.MlflowClient()
    known = client.get_run(run_id).data.params
    params = [Param(k, v) for k, v in flatten(params or {}).items() if k not in known]
    if params:
        client.log_batch(run_id, params=params)
    return run_id


def finish_pipeline(
    pipeline_id: str,
    status: str = "FINISHED",
    summary: dict[str, float] | None = None,
    params: dict | None = None,
    artifacts: tuple[str | Path, ...] = (),
) -> str:
    """End the pipeline's parent run with ``status`` (FINISHED | FAILED | KILLED): the summary metrics,
    the settings that describe the run (params already logged keep their value: a parent is finished
    once per pipeline run, and a second call only ends it again) and the report files that exist.
    Creates the parent when no stage did (a pipeline that failed before its first tracked stage).
    Returns the run id."""
    import time

    import mlflow
    from mlflow.entities import Metric, Param

    if status not in ("FINISHED", "FAILED", "KILLED"):
        raise ValueError(f"status must be FINISHED, FAILED or KILLED, got {status!r}")
    run_id = _parent_run_id(pipeline_id, configure())
    client = mlflow.MlflowClient()
    now = int(time.time() * 1000)
    known = client.get_run(run_id).data.params
    client.log_batch(
        run_id,
        metrics=[Metric(k, v, now, 0) for k, v in summary_metrics(summary or {}).items()],
        params=[Param(k, v) for k, v in flatten(params or {}).items() if k not in known],
    )
    for a in artifacts:
        if Path(a).is_file():
            client.log_artifact(run_id, str(a))
    client.set_tag(run_id, "ipad.status", status)
    client.set_terminated(run_id, status)
    return run_id


def flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = str(v)[:500]
    return out


def log_history(history: list[dict], prefix: str = "") -> None:
    import mlflow

    for h in history:
        mlflow.log_metrics({f"{prefix}{k}": float(v) for k, v in h.items() if k != "epoch"}, step=int(h["epoch"]))
