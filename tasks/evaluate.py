from pathlib import Path

import mlflow
from prefect import task

from ipad_vad.jobs.layout import eval_dir
from ipad_vad.jobs.report import report
from ipad_vad.registry import tracking

from .common import GPU_TAGS, IO_RETRIES, log


def _log_metrics(m: dict, prefix: str = "") -> None:
    """``auc_pct_<protocol>/<component>``, ``auc_pct_per_type/<type>``, ``alerts/<what>``
    (``tracking.evaluation_metrics``, AUCs in percent): the same names in every method's run (the
    method is the run's ``ipad.method`` tag and name), grouped by protocol, so MLflow's compare view
    lines the methods up column by column."""
    mlflow.log_metrics(tracking.evaluation_metrics(m, prefix))


def _log_lines(method: str, scene: str, m: dict) -> None:
    auc = m["auc"]["scene_norm"]
    log(
        "%s on %s: %d clips scored (%d labelled anomalous); AUC scene norm %.1f (%s)",
        method,
        scene,
        m["n_clips"],
        m["n_anomalous"],
        100 * auc["score"],
        ", ".join(f"{k} {100 * v:.1f}" for k, v in auc.items() if k != "score"),
    )
    a = m.get("alerts")
    if a:
        log(
            "%s on %s: alert threshold %.4g; false-alarm rate targeted %.1f %%, measured on the test set %.1f %%; "
            "recall measured on the test set %.1f %%",
            method,
            scene,
            a["threshold"],
            100 * a.get("target_false_alarm_rate", float("nan")),
            100 * a.get("test_false_alarm_rate", float("nan")),
            100 * a.get("test_recall", float("nan")),
        )


@task(name="evaluate", tags=GPU_TAGS)
def evaluate_task(p: dict, method: str, scene: str) -> dict:
    """One method on one scene (a device is also calibrated)."""
    from ipad_vad.jobs.evaluate import evaluate_scene  # here: the report step (same flow module) needs no torch

    with tracking.run(
        f"evaluate {method} {scene}",
        "evaluate",
        scene,
        params={"evaluate": p["evaluate"], "method": method},
        manifest=p["data"]["manifest"],
    ):
        mlflow.set_tag("ipad.method", method)
        m = evaluate_scene(p, method, scene, progress=False)
        _log_metrics(m)
        _log_lines(method, scene, m)
        out = eval_dir(p, scene, method)
        for f in ("metrics.json", "calibration.json"):
            if (out / f).is_file():
                mlflow.log_artifact(str(out / f), artifact_path="evaluation")
    return {"scene": scene, "method": method, "auc": m["auc"]["scene_norm"]["score"]}


@task(name="evaluate-pretrain", tags=GPU_TAGS)
def evaluate_pretrain_task(p: dict, method: str) -> dict:
    """A method's base model on every pretrain scene."""
    from ipad_vad.jobs.evaluate import evaluate_pretrain_scenes

    with tracking.run(
        f"evaluate {method} pretrain scenes",
        "evaluate",
        params={"evaluate": p["evaluate"], "method": method},
        manifest=p["data"]["manifest"],
    ):
        mlflow.set_tag("ipad.method", method)
        res = evaluate_pretrain_scenes(p, method, progress=False)
        for scene, m in res.items():
            _log_metrics(m, prefix=scene)
            _log_lines(method, scene, m)
    return {
        scene: {"scene": scene, "method": method, "auc": m["auc"]["scene_norm"]["score"]} for scene, m in res.items()
    }


@task(name="report", **IO_RETRIES)
def report_task(p: dict) -> dict:
    with tracking.run("report", "report", manifest=p["data"]["manifest"]):
        res = report(p)
        mlflow.log_metrics(tracking.summary_metrics(res["summary"]))
        reports = Path(p["pipeline"]["reports_root"])
        mlflow.log_artifact(str(reports / "results.md"))
        mlflow.log_artifact(str(reports / "results.json"))
        plots = Path(p["pipeline"]["plots_root"])
        if plots.is_dir():
            mlflow.log_artifacts(str(plots), artifact_path="plots")
    log("mean AUC (scene norm) per method: %s", ", ".join(f"{m} {100 * v:.1f}" for m, v in res["summary"].items()))
    return res["summary"]
