"""The whole pipeline as one Prefect flow, under prefect_test_harness (a temporary server)."""

import json
import os
import sys

import mlflow
import pytest
from prefect.testing.utilities import prefect_test_harness

from ipad_vad.config import load_params
from ipad_vad.data.synth.generator import SynthConfig, generate

from .conftest import ROOT

pytestmark = pytest.mark.slow


def test_full_pipeline_flow_with_fan_out(tmp_path, monkeypatch):
    import subprocess

    subprocess.run(
        [sys.executable, str(ROOT / "scripts/smoke_params.py"), "smoke", str(tmp_path / "params.yaml")], check=True
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.delenv("IPAD_PIPELINE_ID", raising=False)
    p = load_params("params.yaml")
    generate(p["data"]["root"], SynthConfig.from_params(p["synth"], workers=1))
    from flows.pipeline import ipad_pipeline

    with prefect_test_harness(server_startup_timeout=120):
        state = ipad_pipeline(return_state=True)
    assert state.is_completed(), state
    result = state.result()
    assert set(result["summary"]) == {"ipad_vad", "ipad_vad:recon_error", "ipad_vad:period_error", "knn"}
    [decision] = result["promotions"]
    assert decision["device"] == "R01" and decision["alias"] == "champion" and decision["method"] in ("ipad_vad", "knn")
    report = json.loads((tmp_path / "reports/results.json").read_text())
    assert report["scenes"] == ["S01", "S02", "R01"]
    # the report names the method promotion picks for each device and whether it reaches promote_min_auc (0 in smoke)
    assert report["usable"]["R01"]["method"] == decision["method"] and report["usable"]["R01"]["usable"] is True
    assert decision["usable"] is True
    md = (tmp_path / "reports/results.md").read_text()
    assert "Usable detector per device" in md
    # it opens with what was run, and bolds each column's best method (one per column, components not ranked)
    assert md.startswith("## Results of profile `smoke`") and "* **Budget**: pretraining 1 epoch(s)" in md
    scene_table = md.split("### Frame-level AUC (%), scene norm")[1].split("###")[0]
    rows = [r for r in scene_table.splitlines() if r.startswith("| ") and not r.startswith("| method")]
    for col in range(1, 5):  # S01, S02, R01, avg
        cells = [r.split(" | ")[col] for r in rows if "alone" not in r]
        assert sum(c.startswith("**") for c in cells) >= 1
        assert not any(r.split(" | ")[col].startswith("**") for r in rows if "alone" in r)
    for scene in ("S01", "S02", "R01"):
        assert (
            tmp_path
            / "data/prepared"
            / ("devices" if scene == "R01" else "pretrain")
            / "periods"
            / scene
            / "periods.json"
        ).is_file()
    client = mlflow.MlflowClient(tracking_uri=os.environ["MLFLOW_TRACKING_URI"])
    assert str(client.get_model_version_by_alias("ipad-vad-R01", "champion").version) == "1"
    # the flow made its own pipeline id: one MLflow parent run, ended FINISHED with the mean AUC per method
    [parent] = _pipeline_runs(client)
    assert parent.info.status == "FINISHED" and parent.data.tags["ipad.pipeline_id"].startswith("prefect-")
    assert set(parent.data.metrics) == {f"mean_auc_pct/{m}" for m in result["summary"]}
    children = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert {r.data.tags["ipad.stage"] for r in children} >= {"pretrain", "adapt", "evaluate", "report", "promote"}
    assert "IPAD_PIPELINE_ID" not in os.environ


def _pipeline_runs(client):
    exp = client.get_experiment_by_name("ipad-vad")
    return client.search_runs([exp.experiment_id], "tags.`ipad.role` = 'pipeline'")


def test_a_failing_stage_ends_the_mlflow_parent_run_failed(tmp_path, monkeypatch):
    """The gate fails (no footage where params point): the flow run fails and the pipeline's MLflow
    run ends FAILED instead of staying "Running" forever."""
    import subprocess

    subprocess.run(
        [sys.executable, str(ROOT / "scripts/smoke_params.py"), "smoke", str(tmp_path / "params.yaml")], check=True
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.delenv("IPAD_PIPELINE_ID", raising=False)
    (tmp_path / "data/synth").mkdir(parents=True)  # an empty data folder: validation fails
    from flows.pipeline import ipad_pipeline

    with prefect_test_harness(server_startup_timeout=120):
        state = ipad_pipeline(return_state=True)
    assert state.is_failed(), state
    [parent] = _pipeline_runs(mlflow.MlflowClient(tracking_uri=os.environ["MLFLOW_TRACKING_URI"]))
    assert parent.info.status == "FAILED" and parent.info.end_time is not None
    assert parent.data.params["profile"] == "smoke"
