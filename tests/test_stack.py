"""The installed stack does what the project relies on (issue 29).

* The Prefect server's scheduler creates the runs of a cron schedule. A freely resolved install once
  pulled SQLAlchemy 2.1.9, under which prefect 3.8.8's scheduler fails (``schedule_recent_deployments``:
  ``Can't evaluate bulk DML statement``) and the nightly retraining would never run: the server is
  started as `make serve` starts it (``scripts/ui_common.sh``, services on) and must log nothing at
  ERROR.
* A pipeline step run directly (``dvc repro`` without ``make demo``: no PREFECT_API_URL, a temporary
  server) prints no ``Failed to send telemetry`` (the machines are offline), and the registered
  model's code raises no MLflow warning about ``predict``'s type hints.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from .conftest import ROOT, VENV_BIN

# the variables through which the project turns telemetry off; the child processes must not inherit them
# from the test's environment, so that what is checked is the project's own default
TELEMETRY_ENV = ("PREFECT_SERVER_ANALYTICS_ENABLED", "DO_NOT_TRACK", "PREFECT_API_URL")


def _clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in TELEMETRY_ENV}
    env.update(PATH=f"{VENV_BIN}:{os.environ['PATH']}", OMP_NUM_THREADS="1", **extra)
    return env


def _api(base: str, path: str, body: dict | None = None, retries: int = 10):
    """One API call; a 503 (the server's answer while its SQLite database is busy, e.g. while the
    services start) is retried as Prefect's own client retries it."""
    data = None if body is None else json.dumps(body).encode()
    for attempt in range(retries):
        req = urllib.request.Request(
            base + path,
            data=data,
            headers={"Content-Type": "application/json"},
            method="GET" if body is None else "POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            if e.code != 503 or attempt == retries - 1:
                raise
            time.sleep(1)


def _error_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if re.search(r"\|\s*ERROR\s*\|", line) or "Traceback" in line]


@pytest.mark.slow
def test_the_server_scheduler_creates_the_runs_of_a_cron_schedule_without_errors(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = tmp_path / "prefect"
    # as `make serve` starts it: every service, the scheduler included
    server = subprocess.Popen(
        ["bash", "-c", f'source scripts/ui_common.sh && start_prefect {port} && wait "$PREFECT_PID"'],
        cwd=ROOT,
        env=_clean_env(PREFECT_HOME=str(home)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        for _ in range(180):
            try:
                _api(api, "/health")
                break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                time.sleep(1)
        flow = _api(api, "/flows/", {"name": "stack-check"})
        deployment = _api(
            api,
            "/deployments/",
            {
                "name": "every-minute",
                "flow_id": flow["id"],
                "schedules": [{"schedule": {"cron": "* * * * *", "timezone": "UTC"}, "active": True}],
            },
        )
        runs = []
        for _ in range(90):  # the recent-deployments scheduler visits a new deployment within seconds
            runs = _api(api, "/flow_runs/filter", {"deployments": {"id": {"any_": [deployment["id"]]}}})
            if runs:
                break
            time.sleep(1)
        log = (home / "server.log").read_text()
        assert runs, f"the scheduler created no run of a cron schedule in 90 s:\n{log[-4000:]}"
        assert {r["state"]["type"] for r in runs} == {"SCHEDULED"}
        assert len({r["expected_start_time"] for r in runs}) == len(runs) > 1  # one run per minute ahead
        time.sleep(6)  # another pass of the scheduler's loops
        errors = _error_lines((home / "server.log").read_text())
        assert not errors, "\n".join(errors[:20])
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.mark.slow
def test_a_step_run_without_a_server_prints_no_telemetry_error(tmp_path):
    """`ipad validate` as `dvc repro` runs it outside `make demo`: a temporary Prefect server, whose
    telemetry heartbeat fails offline unless the project turns telemetry off."""
    env = _clean_env(
        PREFECT_HOME=str(tmp_path / "prefect"),
        MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120",
    )  # 20 s by default: too short on a busy CPU
    subprocess.run(
        [sys.executable, str(ROOT / "scripts/smoke_params.py"), "smoke", str(tmp_path / "params.yaml")],
        check=True,
        env=env,
    )
    subprocess.run(
        ["ipad", "data", "synth", "--profile", "smoke", "--out", "data/synth"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
    )
    r = subprocess.run(["ipad", "validate"], cwd=tmp_path, env=env, capture_output=True, text=True)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "validation passed" in out, out[-3000:]
    assert "Starting temporary server" in out  # the path `dvc repro` takes without PREFECT_API_URL
    assert "Failed to send telemetry" not in out, out[-3000:]
    assert not _error_lines(out), out[-3000:]


def test_the_registered_model_code_raises_no_mlflow_type_hint_warning():
    """MLflow checks ``predict``'s type hints when the scorer class is defined (by ``log_scorer`` and
    by every load of a registered version through ``scorer_code.py``); without hints it warns, with
    raw colour escapes, in the demo's output."""
    r = subprocess.run(
        [sys.executable, "-W", "default", "-c", "import ipad_vad.registry.scorer_code"],
        env=_clean_env(),
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Warning" not in r.stderr, r.stderr[-3000:]
