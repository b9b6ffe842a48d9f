"""Your own footage end to end: an imported tree with unusual scene names and no pretraining scenes
(one of them without period annotations) goes through `dvc repro`, registers a champion per device
with its alert threshold, and `ipad score` flags the anomalous footage of a device and stays quiet
on its normal footage."""

import json
import os
import shutil
import sys

import cv2
import mlflow
import pytest
import yaml

from ipad_vad.method_index import write_stage_items

from .conftest import ROOT, copy_project_skeleton, project_env
from .conftest import sh as _sh

pytestmark = pytest.mark.slow
DEVICES = ["cutter.B7", "press_line-2"]
METHODS = ["ipad_vad"]


@pytest.fixture(scope="module")
def project(tmp_path_factory, prefect_server):
    base = tmp_path_factory.mktemp("own")
    repo = base / "project"
    copy_project_skeleton(repo)
    _sh([sys.executable, str(ROOT / "scripts/smoke_params.py"), "smoke", str(repo / "params.yaml")], repo, os.environ)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    for synth in (params["synth"], params["profiles"]["smoke"]["synth"]):
        synth["train_cycles"] = 12  # enough normal footage to hold some out for the threshold
    # IPAD-VAD alone: its alerts are what this test checks. With one training recording per device here the
    # reference detector cannot be calibrated leaving one recording out: calibrated on the rest of the
    # recording its bank came from, it puts a large share of a new recording's normal frames above its
    # threshold (docs/methods/knn.md, "The reference detector's alerts"); promotion across methods and `ipad score` with
    # either champion, and the left-one-out calibration, are tested in test_methods.py
    for pipe in (params["pipeline"], params["profiles"]["smoke"]["pipeline"]):
        pipe["methods"] = pipe["promote_methods"] = METHODS
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    write_stage_items(repo / "params.yaml")  # dvc.yaml's per-method stages over this project's methods
    env = project_env(repo, prefect_server, "own-footage-test")
    # a factory's footage: two machines with their own names, one without period annotations
    _sh("ipad data synth --profile smoke --scenes R01,S02 --out ../camera_dump", repo, env)
    (base / "camera_dump/R01").rename(base / "camera_dump" / DEVICES[0])
    (base / "camera_dump/S02").rename(base / "camera_dump" / DEVICES[1])
    shutil.rmtree(base / "camera_dump" / DEVICES[1] / "periods")
    assert (
        base / "camera_dump" / DEVICES[0] / "calibration"
    ).is_dir()  # smoke: 2 minutes of normal calibration footage
    _sh("ipad data import ../camera_dump --out data/ipad", repo, env)
    scenes = _sh("ipad data scenes --root data/ipad", repo, env).stdout
    _sh(
        "git init -q && dvc init -q && dvc config core.analytics false && dvc add -q data/ipad && git add -A "
        "&& git commit -qm footage",
        repo,
        env,
    )
    run = _sh("dvc repro", repo, env)
    return {"path": repo, "env": env, "scenes_out": scenes, "repro": run.stdout}


def test_scene_roles_are_written_and_the_pipeline_runs_on_them(project):
    p = yaml.safe_load((project["path"] / "params.yaml").read_text())
    assert p["data"]["root"] == "data/ipad"
    assert sorted(p["pipeline"]["devices"]) == sorted(DEVICES) and p["pipeline"]["pretrain_scenes"] == []
    assert p["pipeline"]["pretrain_data"] == "devices" and p["synth"]["scenes"] == []
    assert "scenes" not in p["profiles"]["smoke"].get("pipeline", {})  # lists live in the base section only
    stages = [f"pretrain@{m}" for m in METHODS] + [f"{s}@{d}" for d in DEVICES for s in ("prepare_device", "promote")]
    stages += [f"adapt_evaluate@{m}-{d}" for d in DEVICES for m in METHODS]
    for stage in stages:
        assert f"Running stage '{stage}'" in project["repro"], stage
    from ipad_vad.data.periods import read_period_file

    folder = project["path"] / f"data/prepared/devices/periods/{DEVICES[1]}"
    assert json.loads((folder / "periods.json").read_text())["cycle_frames"] > 0  # estimated: no annotations
    for f in folder.glob("*_*.json"):  # every video has usable cycle starts, short test videos too
        assert read_period_file(f)["source"] == "estimated"


def test_each_device_has_a_champion_whose_threshold_is_the_evaluated_one(project):
    mlflow.set_tracking_uri(project["env"]["MLFLOW_TRACKING_URI"])
    client = mlflow.MlflowClient()
    for d in DEVICES:
        champ = client.get_model_version_by_alias(f"ipad-vad-{d}", "champion")
        method = champ.tags["method"]
        record = json.loads((project["path"] / f"registry/{d}.json").read_text())
        assert record["method"] == method == "ipad_vad" and set(record["candidates"]) == {"ipad_vad"}
        assert record["auc"] == max(record["candidates"].values())  # the better method on this device
        cal = json.loads((project["path"] / f"eval/devices/{d}/{method}/calibration.json").read_text())
        assert float(champ.tags["threshold"]) == cal["threshold"] and cal["method"] == method
        heldout = "training footage after the 0.2 share used for adaptation"
        if d == DEVICES[0]:  # imported with calibration footage (the generator's, from R01): its threshold is set there
            assert cal["source"].startswith(f"1 calibration recording(s) of {d}"), cal["source"]
            assert cal["extra"]["shift_calibration"]["base_source"] == heldout
            assert cal["threshold"] >= cal["extra"]["shift_calibration"]["base_threshold"]
            assert loaded_threshold_basis(d).startswith("at most 0.5 alerts/h on")
        else:  # none: the held-out threshold
            assert cal["source"] == heldout and "shift_calibration" not in cal["extra"], cal["source"]
        assert cal["n_frames"] >= 32
        loaded = mlflow.pyfunc.load_model(f"models:/ipad-vad-{d}@champion").unwrap_python_model()
        assert loaded.calibration.threshold == cal["threshold"] and loaded.method.name == method
        metrics = json.loads((project["path"] / f"eval/devices/{d}/{method}/metrics.json").read_text())
        assert metrics["alerts"]["threshold"] == cal["threshold"]


def loaded_threshold_basis(device: str) -> str:
    return mlflow.pyfunc.load_model(f"models:/ipad-vad-{device}@champion").unwrap_python_model().calibration.basis()


def test_ipad_score_flags_anomalous_footage_and_not_normal_footage(project, tmp_path):
    """New footage of the device the model has never seen (the generator with another seed): the
    normal recording raises no alert; the same recording with an object that does not belong there
    in frames 50-69 (written as a video file) raises an alert overlapping exactly that span."""
    path, env = project["path"], project["env"]
    _sh("ipad data synth --profile smoke --scenes R01 --seed 7 --out ../fresh", path, env)
    normal = path.parent / "fresh/R01/training/frames/01"
    files = sorted(normal.iterdir(), key=lambda p: int(p.stem))
    frames = [cv2.imread(str(f)) for f in files]
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(tmp_path / "shift_b.mkv"), cv2.VideoWriter_fourcc(*"FFV1"), 2.0, (w, h))
    for i, f in enumerate(frames):
        if 50 <= i < 70:
            f = f.copy()
            cv2.circle(f, (w // 3, h // 2), h // 4, (255, 0, 255), -1)
        writer.write(f)
    writer.release()
    d = DEVICES[0]
    r = _sh(["ipad", "score", "--device", d, str(normal), str(tmp_path / "shift_b.mkv"), "--out", "scores"], path, env)
    out = path / "scores"
    quiet = json.loads((out / "01.alerts.json").read_text())
    assert quiet["alerts"] == [] and quiet["scored_frames"] == len(frames) - 7, quiet
    res = json.loads((out / "shift_b.alerts.json").read_text())
    assert res["alerts"] and all(a["start"] <= 69 and a["end"] >= 50 for a in res["alerts"]), res["alerts"]
    assert res["fps"] == pytest.approx(2.0) and res["alerts"][0]["start_s"] == res["alerts"][0]["start"] / 2
    assert (out / "shift_b.png").is_file() and (out / "shift_b.scores.csv").is_file()
    assert "ALERT" in r.stdout and "shift_b" in r.stdout


def test_score_errors_name_the_device_and_the_file(project):
    path, env = project["path"], project["env"]
    r = _sh(["ipad", "score", "--device", "R99", "data/ipad"], path, env, check=False)
    assert r.returncode == 2 and "device 'R99' has no champion" in r.stderr and DEVICES[0] in r.stderr
    (path / "clip.mp4").write_bytes(b"not a video at all")
    r = _sh(["ipad", "score", "--device", DEVICES[0], "clip.mp4"], path, env, check=False)
    assert r.returncode == 2 and "clip.mp4" in r.stderr
    # every good input is scored, every bad one reported (issue 16): a broken video and a folder with a gap
    gap = path / "gap"
    shutil.copytree(path / "data/ipad" / DEVICES[0] / "testing/frames/01", gap)
    last = max(gap.iterdir(), key=lambda f: int(f.stem))
    (gap / "3.jpg").rename(gap / f"{int(last.stem) + 1}.jpg")
    good = path / "data/ipad" / DEVICES[0] / "testing/frames/02"
    r = _sh(
        ["ipad", "score", "--device", DEVICES[0], "clip.mp4", str(gap), str(good), "--out", "mixed"],
        path,
        env,
        check=False,
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert "clip.mp4" in r.stderr and "frame 3 is missing before 4.jpg" in r.stderr and "2 of 3 input(s)" in r.stderr
    assert (path / "mixed/02.alerts.json").is_file() and not (path / "mixed/gap.alerts.json").exists()
