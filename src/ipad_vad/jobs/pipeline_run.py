"""The start and end of one pipeline run in MLflow: its parent run (``IPAD_PIPELINE_ID``) starts
before the first step (validation), and ends FINISHED or FAILED with what describes the run
(profile, scenes, methods, epochs), the report's mean AUC per method and the report itself. Called by whoever drove the stages: ``ipad runs finish`` after
``dvc repro`` (``make demo``), the pipeline flow, the retraining flows' repro task."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

from ..registry import tracking


def run_settings(params: dict) -> dict:
    pipe = params["pipeline"]
    return {
        "profile": params["profile"],
        "scenes": ",".join(pipe["scenes"]),
        "methods": ",".join(pipe["methods"]),
        "train_epochs": params["train"]["epochs"],
        "adapt_epochs": params["adapt"]["epochs"],
    }


def finish_pipeline_run(params: dict, pipeline_id: str, failed: bool = False) -> dict:
    """Returns the run id, the status and the summary logged. The summary is that of the report
    present on disk (a failed run may have none)."""
    reports = Path(params["pipeline"]["reports_root"])
    results = reports / "results.json"
    summary = json.loads(results.read_text()).get("summary", {}) if results.is_file() else {}
    status = "FAILED" if failed else "FINISHED"
    run_id = tracking.finish_pipeline(
        pipeline_id, status, summary, run_settings(params), (reports / "results.md", results)
    )
    return {"run_id": run_id, "status": status, "summary": summary}


def start_pipeline_run(params: dict, pipeline_id: str) -> str:
    """Start the pipeline's MLflow parent run (before validation: every step runs under it) with the
    settings that describe the run; returns its id."""
    return tracking.start_pipeline(pipeline_id, run_settings(params))


@contextlib.contextmanager
def ends_with_outcome(params: dict, pipeline_id: str) -> Iterator[None]:
    """The parent run starts now (``start_pipeline_run``: before the block's first step) and ends
    FAILED when the block raises (the error goes on), FINISHED when it completes."""
    start_pipeline_run(params, pipeline_id)
    try:
        yield
    except BaseException:
        finish_pipeline_run(params, pipeline_id, failed=True)
        raise
    finish_pipeline_run(params, pipeline_id)
