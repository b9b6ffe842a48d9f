from pathlib import Path

import mlflow
from prefect import task

from ipad_vad.pipeline.evaluation import evaluate_scene, report
from ipad_vad.registry import tracking

from .common import GPU_TAGS, IO_RETRIES


@task(name="evaluate", tags=GPU_TAGS)
def evaluate_task(p: dict, scene: str) -> dict:
    with tracking.run(f"evaluate {scene}", "evaluate", scene, params={"evaluate": p["evaluate"],
                      "methods": ",".join(p["pipeline"]["methods"])}, manifest=p["data"]["manifest"]):
        summary = evaluate_scene(p, scene, progress=False)
        for method, r in summary["methods"].items():
            for proto, aucs in r["auc"].items():
                mlflow.log_metrics({f"auc_{proto}_{method}_{k}": v for k, v in aucs.items() if v == v})
            for t, v in r.get("auc_per_type", {}).items():
                if v == v:
                    mlflow.log_metric(f"auc_type_{method}_{t}", v)
            for k, v in r.get("alerts", {}).items():  # devices: the threshold and how it does on the test set
                if isinstance(v, (int, float)) and v == v:
                    mlflow.log_metric(f"alert_{method}_{k}", v)
        pipe = p["pipeline"]
        for f in (f"{pipe['eval_root']}/{scene}/metrics.json", f"{pipe['eval_root']}/{scene}/roc.csv",
                  f"{pipe['plots_root']}/{scene}/roc.png", f"{pipe['plots_root']}/{scene}/scores.png"):
            mlflow.log_artifact(f, artifact_path="evaluation")
        calibration = Path(pipe["eval_root"]) / scene / "calibration"
        if calibration.is_dir():
            mlflow.log_artifacts(str(calibration), artifact_path="evaluation/calibration")
    return {"scene": scene, "auc": summary["auc"]}


@task(name="report", **IO_RETRIES)
def report_task(p: dict) -> dict:
    with tracking.run("report", "report", manifest=p["data"]["manifest"]):
        res = report(p)
        mlflow.log_metrics({f"avg_auc_{m}": v for m, v in res["summary"].items()})
        mlflow.log_artifact(f"{p['pipeline']['reports_root']}/results.md")
        mlflow.log_artifact(f"{p['pipeline']['reports_root']}/results.json")
    return res["summary"]
