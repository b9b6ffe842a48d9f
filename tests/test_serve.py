"""`make serve` (scripts/serve.sh) on a project after its pipeline ran: the Prefect server with its
services, every deployment of prefect.yaml registered to process work pools with their schedules
paused, a worker per pool, the MLflow UI. A run started through the API exactly as the UI's Run
button starts it (``POST /deployments/{id}/create_flow_run``) is picked up by the local worker,
completes, and shows its task runs and the project's log lines."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import pytest
import yaml

from .conftest import ROOT

pytestmark = pytest.mark.slow


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


API_TIMEOUT_S = 60  # one request; a CI run with four test workers once saw the server take over 30 s
API_TRIES = 3  # every request here is a read or idempotent (the flow run is created with an idempotency key)


def _api(base: str, path: str, body: dict | None = None, method: str | None = None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        base + path,
        data=data,
        headers={"Content-Type": "application/json"},
        method=method or ("POST" if body is not None else "GET"),
    )
    for attempt in range(API_TRIES):
        try:
            with urllib.request.urlopen(req, timeout=API_TIMEOUT_S) as r:
                return json.loads(r.read())
        except TimeoutError:
            if attempt == API_TRIES - 1:
                raise


def test_serve_deploys_locally_and_a_run_started_like_the_ui_button_completes_on_the_worker(smoke_project, tmp_path):
    proj = tmp_path / "project"
    shutil.copytree(smoke_project["path"], proj, symlinks=True, ignore=shutil.ignore_patterns(".prefect"))
    for d in ("flows", "tasks", "scripts"):
        shutil.copytree(ROOT / d, proj / d, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "prefect.yaml", proj / "prefect.yaml")
    env = {k: v for k, v in smoke_project["env"].items() if k not in ("PREFECT_API_URL", "PREFECT_HOME")}
    env.update(
        IPAD_PREFECT_PORT=str(_port()),
        IPAD_MLFLOW_PORT=str(_port()),
        PYTHONPATH=str(proj),
        MLFLOW_TRACKING_URI=f"sqlite:///{proj / 'mlflow.db'}",
    )
    log = open(tmp_path / "serve.log", "w+")
    serve = subprocess.Popen(
        ["bash", "scripts/serve.sh"], cwd=proj, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        text = ""
        for _ in range(300):
            text = (tmp_path / "serve.log").read_text()
            if "MLflow UI:" in text or serve.poll() is not None:
                break
            time.sleep(1)
        assert "MLflow UI:" in text, text[-3000:]
        api = re.search(r"Prefect UI: (http://127\.0\.0\.1:\d+)", text).group(1) + "/api"
        mlflow_ui = re.search(r"MLflow UI:  (http://127\.0\.0\.1:\d+)", text).group(1)
        # the UI reads its API from the port it really runs on
        assert _api(api.removesuffix("/api"), "/ui-settings")["api_url"] == api
        deployments = {d["name"]: d for d in _api(api, "/deployments/filter", {})}
        assert set(deployments) == {
            d["name"] for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
        }
        nightly = deployments["ipad-retrain-nightly"]
        assert nightly["schedules"] and not any(s["active"] for s in nightly["schedules"])  # paused locally
        run = _api(
            api, f"/deployments/{deployments['ipad-validate']['id']}/create_flow_run", {"idempotency_key": "test-serve"}
        )
        for _ in range(300):
            state = _api(api, f"/flow_runs/{run['id']}")["state"]
            if state and state["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                break
            time.sleep(1)
        worker_logs = "".join((proj / ".prefect" / f"worker-{p}.log").read_text() for p in ("cpu", "gpu"))
        assert state["type"] == "COMPLETED", (state, worker_logs[-3000:])
        tasks = _api(api, "/task_runs/filter", {"flow_runs": {"id": {"any_": [run["id"]]}}})
        assert [(t["name"].rsplit("-", 1)[0], t["state_type"]) for t in tasks] == [("validate", "COMPLETED")]
        for _ in range(60):  # the run's process sends its last log lines as it exits, after its final state
            messages = [
                e["message"] for e in _api(api, "/logs/filter", {"logs": {"flow_run_id": {"any_": [run["id"]]}}})
            ]
            if any(m.startswith("validation: ") for m in messages):
                break
            time.sleep(1)
        assert any(m.startswith("validation: all checks passed") for m in messages), messages
        # the MLflow UI serves the project's store
        exp = _api(mlflow_ui, "/api/2.0/mlflow/experiments/get-by-name?experiment_name=ipad-vad")
        assert exp["experiment"]["name"] == "ipad-vad"
    finally:
        serve.send_signal(signal.SIGTERM)  # Ctrl-C's equivalent: serve.sh stops what it started
        try:
            serve.wait(timeout=60)
        finally:
            try:
                os.killpg(serve.pid, signal.SIGKILL)  # nothing of it may outlive the test
            except ProcessLookupError:
                pass
