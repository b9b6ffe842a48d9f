"""The pipeline end to end with real parts: DVC stages in a temporary git repo, each calling `ipad`,
which runs its Prefect flow against a real (loopback) Prefect server; MLflow with a SQLite store and
registry; new footage ingested for one device reruns only that device's stages."""

import json

import cv2
import mlflow
import numpy as np
import pytest

from .conftest import ran_stages as _ran, sh as _sh

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repo(smoke_project):
    return smoke_project


def test_dvc_repro_runs_every_stage_and_tracks_results(repo):
    path = repo["path"]
    ran = _ran(repo["first"])
    for stage in ("validate", "prepare_pretrain@S01", "prepare_device@R01", "pretrain", "finetune@R01",
                  "evaluate_pretrain@S02", "evaluate_device@R01", "report", "promote@R01"):
        assert stage in ran, (stage, ran)
    res = json.loads((path / "reports/results.json").read_text())
    assert set(res["scenes"]) == {"S01", "S02", "R01"}
    assert set(res["summary"]) == {"ipad_vad", "conv_ae", "ipad_vad_no_window"}
    assert all(0 <= v <= 1 for v in res["summary"].values())
    assert (path / "plots/R01/roc.png").is_file() and (path / "plots/S01/scores.png").is_file()
    decision = json.loads((path / "registry/R01.json").read_text())
    assert decision["alias"] == "champion" and decision["version"] == "1"
    mlflow.set_tracking_uri(repo["env"]["MLFLOW_TRACKING_URI"])
    runs = mlflow.search_runs(experiment_names=["ipad-vad"], output_format="list")
    stages = {r.data.tags.get("ipad.stage") for r in runs}
    assert {"pretrain", "finetune", "evaluate", "report", "promote"} <= stages
    parents = {r.data.tags.get("mlflow.parentRunId") for r in runs if r.data.tags.get("ipad.stage")}
    assert len(parents) == 1  # one pipeline run groups every stage's run
    evaluate_r01 = [r for r in runs if r.data.tags.get("ipad.stage") == "evaluate" and r.data.tags.get("ipad.scene") == "R01"]
    assert evaluate_r01 and any(k.startswith("auc_scene_norm_ipad_vad") for k in evaluate_r01[0].data.metrics)
    assert all(len(r.data.tags.get("data_version", "")) == 16 for r in evaluate_r01)
    client = mlflow.MlflowClient()
    assert len(client.search_model_versions("name='ipad-vad-base'")) == 1  # the pretrained base is registered


def test_second_repro_reruns_nothing(repo):
    out = _sh("dvc repro", repo["path"], repo["env"]).stdout
    assert _ran(out) == [] and "Data and pipelines are up to date" in out


def test_new_footage_for_one_device_reruns_only_its_stages_and_ingest_is_idempotent(repo, tmp_path):
    path, env = repo["path"], repo["env"]
    landing = tmp_path / "landing" / "R01" / "training"
    landing.mkdir(parents=True)
    src = sorted((path / "data/ipad/R01/training/frames/01").iterdir(), key=lambda p: int(p.stem))
    frames = [cv2.imread(str(p)) for p in src]
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(landing / "camera_morning.mkv"), cv2.VideoWriter_fourcc(*"FFV1"), 2.0, (w, h))
    for f in frames[::-1]:  # new footage: the same machine, another recording
        writer.write(f)
    writer.release()
    out = _sh(["ipad", "ingest", str(tmp_path / "landing"), "--no-commit"], path, env).stdout
    assert "stages_run" in out
    lock = (path / "dvc.lock").read_text()
    ran = [s for s in ("prepare_device@R01", "finetune@R01", "evaluate_device@R01", "promote@R01") if s in out]
    assert len(ran) == 4, out
    for untouched in ("prepare_pretrain@S01", "prepare_pretrain@S02", "pretrain", "evaluate_pretrain@S01"):
        assert f"'{untouched}'" not in out, out
    assert (path / "data/ipad/R01/training/frames/02").is_dir()
    # the registry now holds two versions of R01; nothing registered was lost
    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    assert len(mlflow.MlflowClient().search_model_versions("name='ipad-vad-R01'")) == 2
    # the same footage again: nothing imported, nothing rerun
    again = _sh(["ipad", "ingest", str(tmp_path / "landing"), "--no-commit"], path, env).stdout
    assert "'retrained': False" in again
    assert (path / "dvc.lock").read_text() == lock
