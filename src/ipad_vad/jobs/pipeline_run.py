"""The end of one pipeline run in MLflow: its parent run (``IPAD_PIPELINE_ID``) ends FINISHED or
FAILED with what describes the run (profile, scenes, methods, epochs), the report's mean AUC per
method and the report itself. Called by whoever drove the stages: ``ipad runs finish`` after
``dvc repro`` (``make demo``), the pipeline flow, the retraining flows' repro task."""

from __future__ import annotations

import json
from pathlib import Path

from ..registry import tracking


def run_settings(params: dict) -> dict:
    pipe = params.get("pipeline", {})
    return {"profile": params.get("profile"), "scenes": ",".join(pipe.get("scenes", [])),
            "methods": ",".join(pipe.get("methods", [])), "train_epochs": params.get("train", {}).get("epochs"),
            "finetune_epochs": params.get("finetune", {}).get("epochs")}


def finish_pipeline_run(params: dict, pipeline_id: str, failed: bool = False) -> dict:
    """Returns the run id, the status and the summary logged. The summary is that of the report
    present on disk (a failed run may have none)."""
    reports = Path(params.get("pipeline", {}).get("reports_root", "reports"))
    results = reports / "results.json"
    summary = json.loads(results.read_text()).get("summary", {}) if results.is_file() else {}
    status = "FAILED" if failed else "FINISHED"
    run_id = tracking.finish_pipeline(pipeline_id, status, summary, run_settings(params),
                                      (reports / "results.md", results))
    return {"run_id": run_id, "status": status, "summary": summary}
