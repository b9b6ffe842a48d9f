"""`ipad score` and the pipeline steps against bad input, bad options and a damaged registry (issue 29),
as a user meets them: the real console script in a subprocess, a real (temporary) MLflow registry.

Each error is one line naming what is wrong, before anything slow loads where the problem is a
setting; Ctrl-C on `ipad score --follow` keeps what was scored."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
IPAD = str(Path(sys.executable).parent / "ipad")
H, W = 48, 64  # the footage of the registered model's device
URI = "models:/ipad-vad-R01/1"


def _frame(i: int) -> np.ndarray:
    """A colour BGR frame: a red square moving over a grey background."""
    f = np.full((H, W, 3), 60, np.uint8)
    x = (i * 3) % (W - 12)
    f[12:24, x : x + 12] = (0, 0, 230)
    return f


def _ipad(args, cwd, env, timeout=300):
    return subprocess.run([IPAD, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A registered smoke-size conv_ae (version 1 of ipad-vad-R01) with its calibration, in a SQLite
    store of its own, and the artifact folder's pristine copy (tests that delete files restore it)."""
    import torch

    from ipad_vad.alerts.calibration import Calibration
    from ipad_vad.config import load_params
    from ipad_vad.methods import get_method
    from ipad_vad.registry import tracking
    from ipad_vad.registry.pyfunc_model import log_scorer

    root = tmp_path_factory.mktemp("score-cli")
    env = dict(os.environ, MLFLOW_TRACKING_URI=f"sqlite:///{root / 'mlflow.db'}", OMP_NUM_THREADS="1", COLUMNS="200")
    env.pop("IPAD_PIPELINE_ID", None)
    p = load_params(ROOT / "params.yaml", "smoke")
    method = get_method("conv_ae", p)
    torch.manual_seed(0)
    method.save(method.build(), root / "base.pt")
    names = tuple(c.name for c in method.components)
    cal = Calibration(
        method=method.name,
        threshold=0.5,
        false_alarm_rate=0.01,
        components=names,
        means=(0.0,) * len(names),
        stds=(1.0,) * len(names),
        weights=tuple(method.weights()[n] for n in names),
        clip_len=p["clip"]["length"],
        frame_size=tuple(p["clip"]["size"]),
        source_size=(H, W),
    )
    (root / "calibration.json").write_text(json.dumps(cal.to_dict()))
    old = os.getcwd()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)  # mlartifacts/ of the store goes here
        mp.setenv("MLFLOW_TRACKING_URI", env["MLFLOW_TRACKING_URI"])
        mp.delenv("IPAD_PIPELINE_ID", raising=False)
        example = (torch.rand(2, 3, cal.clip_len, *cal.frame_size) * 2 - 1).numpy()
        with tracking.run("adapt R01", "adapt", "R01"):
            log_scorer("ipad-vad-R01", example, root / "base.pt", calibration=root / "calibration.json")
    assert os.getcwd() == old
    shutil.copytree(root / "mlartifacts", root / "mlartifacts.pristine")
    frames = root / "frames"
    frames.mkdir()
    for i in range(20):
        cv2.imwrite(str(frames / f"{i}.jpg"), _frame(i))
    return {"root": root, "env": env, "frames": frames, "clip_len": cal.clip_len}


def _restore(registry) -> Path:
    """The store's artifact folder as registered; returns the version's files (``.../artifacts``)."""
    root = registry["root"]
    shutil.rmtree(root / "mlartifacts", ignore_errors=True)
    shutil.copytree(root / "mlartifacts.pristine", root / "mlartifacts")
    [model] = (root / "mlartifacts" / "models").iterdir()
    return model / "artifacts"


def test_bad_options_are_refused_before_anything_loads(tmp_path):
    """--format and --accelerator are checked before the registry is even opened: the model URI here
    does not exist, so an error about it would mean the option was checked too late (issue 29, 8a-b)."""
    env = dict(os.environ, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'empty.db'}", COLUMNS="200")
    args = ["score", "--model-uri", "models:/ipad-vad-R01/9", str(tmp_path)]
    t0 = time.perf_counter()
    r = _ipad([*args, "--format", "xlsx"], tmp_path, env)
    assert r.returncode == 2 and "'xlsx' is not one of 'csv', 'parquet'" in r.stderr, r.stderr
    assert "--format" in r.stderr and "cannot load model" not in r.stderr
    assert time.perf_counter() - t0 < 30  # typer refuses it while parsing: no torch, no MLflow
    r = _ipad([*args, "--accelerator", "gpu"], tmp_path, env)
    assert r.returncode == 2 and r.stderr.strip() == (
        "error: --accelerator 'gpu': not a device; choose auto | cpu | cuda | cuda:<n>"
    ), r.stderr
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device: --accelerator cuda is valid here")
    r = _ipad([*args, "--accelerator", "cuda"], tmp_path, env)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    [line] = r.stderr.strip().splitlines()
    assert line.startswith("error: --accelerator 'cuda': no CUDA device is available on this machine"), line


def test_the_cuda_check_names_where_the_device_was_set(monkeypatch):
    """The same check with torch finding no GPU, on any machine (a GPU machine included)."""
    import torch

    from ipad_vad.errors import ConfigError
    from ipad_vad.inference.accelerator import scoring_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"score\.device of params\.yaml 'cuda:1': no CUDA device is available"):
        scoring_device("cuda:1", "score.device of params.yaml")
    assert scoring_device("auto") == "cpu" and scoring_device("cpu") == "cpu"


def test_a_grey_video_is_refused_like_a_grey_frame_folder_and_the_rest_is_scored(registry, tmp_path):
    """Issue 29, 6: a grey video decodes to three identical channels and was scored as colour. It is
    refused as a grey frame folder is, naming the file; the other input is scored (exit status 2)."""
    grey = tmp_path / "grey_cam.mkv"
    w = cv2.VideoWriter(str(grey), cv2.VideoWriter_fourcc(*"FFV1"), 5.0, (W, H), isColor=False)
    for i in range(20):
        w.write(cv2.cvtColor(_frame(i), cv2.COLOR_BGR2GRAY))
    w.release()
    r = _ipad(
        ["score", "--model-uri", URI, str(grey), str(registry["frames"]), "--out", str(tmp_path / "out")],
        registry["root"],
        registry["env"],
    )
    assert r.returncode == 2, r.stdout[-2000:] + r.stderr[-3000:]
    assert f"error: {grey}: expected a colour (3-channel) frame, got 1 channel(s)" in r.stderr, r.stderr
    assert "1 of 2 input(s) not scored" in r.stderr
    assert (tmp_path / "out/frames.alerts.json").is_file() and not (tmp_path / "out/grey_cam.alerts.json").exists()


def test_ctrl_c_on_follow_writes_the_outputs_of_what_was_scored(registry, tmp_path):
    """Issue 29, 7: with --idle-timeout 0 a signal is the only way to stop following. SIGINT ends the
    stream: the clips read are scored and the table, JSON and plot are written; exit status 0."""
    live = tmp_path / "live"
    live.mkdir()
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [IPAD, "score", "--model-uri", URI, str(live), "--follow", "--idle-timeout", "0", "--out", str(out)],
        cwd=registry["root"],
        env=registry["env"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    n = 14

    def camera():
        for i in range(n):
            part = live / f".{i}.tmp.jpg"  # written whole, then renamed
            cv2.imwrite(str(part), _frame(i))
            part.rename(live / f"{i}.jpg")
            time.sleep(0.05)

    try:
        camera_thread = threading.Thread(target=camera)
        camera_thread.start()
        camera_thread.join()
        deadline = time.monotonic() + 240
        while not (out / "live.alerts.jsonl").exists():  # the model loaded and the first frame was read
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "ipad score --follow did not start scoring"
            time.sleep(0.5)
        time.sleep(3)  # a few polls: the frames on disk are read
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stdout[-2000:] + stderr[-3000:]
    summary = json.loads((out / "live.alerts.json").read_text())
    assert summary["stopped_by"] == "SIGINT" and summary["frames"] == n, summary
    # the clips in flight were finished: every frame that a clip is centred on has its score
    import pandas as pd

    table = pd.read_csv(out / "live.scores.csv")
    assert len(table) == summary["scored_frames"] == n - registry["clip_len"] + 1
    assert (out / "live.png").is_file() and "stopped by SIGINT after 14 frames" in stdout


def test_a_deleted_model_or_calibration_is_named(registry, tmp_path):
    """Issue 29, 8d-e: MLflow said ``No such artifact: ''`` for a version whose files were deleted, and a
    deleted calibration read as "not a calibration file of this version"."""
    files = _restore(registry)
    shutil.rmtree(files)
    args = ["score", "--model-uri", URI, str(registry["frames"]), "--out", str(tmp_path)]
    r = _ipad(args, registry["root"], registry["env"])
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    [line] = r.stderr.strip().splitlines()
    assert line.startswith(
        f"error: cannot load model {URI}: its files are missing from the artifact store (nothing at {files.as_uri()})"
    ), line
    files = _restore(registry)
    (files / "artifacts" / "calibration.json").unlink()
    r = _ipad(args, registry["root"], registry["env"])
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    [line] = r.stderr.strip().splitlines()
    assert line.startswith(
        f"error: {files / 'artifacts' / 'calibration.json'}: calibration file is missing (a file of model {URI}"
    ), line
    _restore(registry)


def test_an_unknown_method_is_refused_before_any_flow_starts(tmp_path):
    """Issue 29, 8c: a typo in pipeline.methods failed inside a flow run, after a Prefect server had
    started. params.yaml's schema names the key, the value and the registered methods (the files of
    methods/, found without importing torch), and the step refuses it before any flow."""
    from ipad_vad.config import load_params
    from ipad_vad.errors import ConfigError
    from ipad_vad.params_schema import method_files

    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["pipeline"]["methods"] = [*raw["pipeline"]["methods"], "knnn"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(
        ConfigError,
        match=r"params\.yaml: pipeline\.methods: unknown method 'knnn' \(in \[.*'knnn'\]\); "
        r"known: \[.*'ipad_vad', .*'knn'",
    ):
        load_params(tmp_path / "params.yaml")
    assert "knn" in method_files() and "knnn" not in method_files()
    # no server reachable: a flow run would fail on it (or start a temporary one) instead of this line
    env = dict(
        os.environ, PREFECT_API_URL="http://127.0.0.1:9/api", PREFECT_HOME=str(tmp_path / "prefect"), COLUMNS="200"
    )
    t0 = time.perf_counter()
    r = _ipad(["pretrain", "--method", "knn"], tmp_path, env, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stdout[-2000:] + r.stderr[-3000:]
    [line] = r.stderr.strip().splitlines()
    assert "pipeline.methods: unknown method 'knnn'" in line and "known: [" in line, line
    assert time.perf_counter() - t0 < 60 and not (tmp_path / "prefect").exists()
