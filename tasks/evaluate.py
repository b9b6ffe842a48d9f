from pathlib import Path

import mlflow
from prefect import task

from ipad_vad.jobs.evaluate import evaluate_pretrain_scenes, evaluate_scene
from ipad_vad.jobs.layout import eval_dir
from ipad_vad.jobs.report import report
from ipad_vad.registry import tracking

from .common import GPU_TAGS, IO_RETRIES


def _log_metrics(method: str, m: dict, prefix: str = "") -> None:
    for proto, aucs in m["auc"].items():
        mlflow.log_metrics({f"{prefix}auc_{proto}_{method}_{k}": v for k, v in aucs.items() if v == v})
    mlflow.log_metrics({f"{prefix}auc_type_{method}_{t}": v for t, v in m.get("auc_per_type", {}).items() if v == v})
    for k, v in m.get("alerts", {}).items():  # devices: the threshold and how it does on the test set
        if isinstance(v, (int, float)) and v == v:
            mlflow.log_metric(f"{prefix}alert_{method}_{k}", v)


@task(name="evaluate", tags=GPU_TAGS)
def evaluate_task(p: dict, method: str, scene: str) -> dict:
    """One method on one scene (a device is also calibrated)."""
    with tracking.run(f"evaluate {method} {scene}", "evaluate", scene, params={"evaluate": p["evaluate"], "method": method},
                      manifest=p["data"]["manifest"]):
        mlflow.set_tag("ipad.method", method)
        m = evaluate_scene(p, method, scene, progress=False)
        _log_metrics(method, m)
        out = eval_dir(p, scene, method)
        for f in ("metrics.json", "calibration.json"):
            if (out / f).is_file():
                mlflow.log_artifact(str(out / f), artifact_path="evaluation")
    return {"scene": scene, "method": method, "auc": m["auc"]["scene_norm"]["score"]}


@task(name="evaluate-pretrain", tags=GPU_TAGS)
def evaluate_pretrain_task(p: dict, method: str) -> dict:
    """A method's base model on every pretrain scene."""
    with tracking.run(f"evaluate {method} pretrain scenes", "evaluate", params={"evaluate": p["evaluate"], "method": method},
                      manifest=p["data"]["manifest"]):
        mlflow.set_tag("ipad.method", method)
        res = evaluate_pretrain_scenes(p, method, progress=False)
        for scene, m in res.items():
            _log_metrics(method, m, prefix=f"{scene}_")
    return {scene: {"scene": scene, "method": method, "auc": m["auc"]["scene_norm"]["score"]} for scene, m in res.items()}


@task(name="report", **IO_RETRIES)
def report_task(p: dict) -> dict:
    with tracking.run("report", "report", manifest=p["data"]["manifest"]):
        res = report(p)
        mlflow.log_metrics({f"avg_auc_{m.replace(':', '_')}": v for m, v in res["summary"].items()})
        reports = Path(p["pipeline"]["reports_root"])
        mlflow.log_artifact(str(reports / "results.md"))
        mlflow.log_artifact(str(reports / "results.json"))
        plots = Path(p["pipeline"]["plots_root"])
        if plots.is_dir():
            mlflow.log_artifacts(str(plots), artifact_path="plots")
    return res["summary"]
