import json
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.request import Request, urlopen

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
SMOKE_PIPELINE_ID = "e2e-test"  # the pipeline id the smoke project's runs are tagged with (pipeline:<id>)
PREFECT_SETTLE_READS = 30  # reads of the Prefect server's records of the smoke run, until two agree ...
PREFECT_SETTLE_S = 1.0  # ... this many seconds apart


# The modules holding the longest chains of a full run (a project through the pipeline, then the tests
# that change it), longest first (make test, 2026-12-02): handed out first under pytest-xdist.
LONGEST_MODULES = ("test_pipeline_e2e", "test_storage_s3", "test_own_footage_e2e")


def pytest_collection_modifyitems(config, items):
    """For `pytest -n N --dist loadfile` (make test: a module runs on one worker, in its order, so that
    its module-scoped fixtures are built once): the modules with the longest chains first, then the
    modules holding a slow test, then the rest, so that the long chains start at once and the short
    tests fill the workers beside them. A module's tests stay together and in their order."""
    slow_modules = {i.module.__name__ for i in items if i.get_closest_marker("slow")}

    def rank(item) -> int:
        name = item.module.__name__.rsplit(".", 1)[-1]
        if name in LONGEST_MODULES:
            return LONGEST_MODULES.index(name)
        return len(LONGEST_MODULES) + (item.module.__name__ not in slow_modules)

    items.sort(key=rank)


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """A real Prefect server on loopback for the tests that run `ipad` steps as subprocesses
    (each step's flow run reports to it, as in `make demo`). With its services (the task-run recorder
    and event persister are services: without them no task run is recorded), the scheduler off."""
    home = tmp_path_factory.mktemp("prefect-home")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PREFECT_HOME=str(home))
    proc = subprocess.Popen(
        [str(VENV_BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-scheduler"],
        stdout=open(home / "server.log", "w"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/api"
    for _ in range(120):
        try:
            with urlopen(url + "/health", timeout=2):
                break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError((home / "server.log").read_text()) from None
            time.sleep(1)
    else:
        proc.kill()
        raise RuntimeError("prefect server did not start")
    yield {"url": url, "home": str(home)}
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def sh(cmd, cwd, env, check=True):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, shell=isinstance(cmd, str))
    if check and r.returncode != 0:
        raise AssertionError(f"{cmd} failed ({r.returncode}):\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    return r


def _stage_code_deps() -> set[str]:
    """Every library path a stage of dvc.yaml depends on, read from dvc.yaml itself so that a new
    dependency is never missed by a hand-kept list. A templated dep
    (``src/ipad_vad/methods/${item.method}.py``) stands for its whole folder."""
    import yaml

    deps: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "deps":
                    deps.update(d for d in value if isinstance(d, str) and d.startswith("src/"))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load((ROOT / "dvc.yaml").read_text()))
    return {str(Path(d).parent) if "${" in d else d for d in deps}


def copy_project_skeleton(repo: Path) -> None:
    """What a DVC project of ipad-vad holds besides its data: dvc.yaml and the library sources its
    stages depend on (the code itself runs from the installed package)."""
    import shutil

    repo.mkdir(parents=True, exist_ok=True)
    for f in ("dvc.yaml", "stage_items.yaml", ".dvcignore", ".gitignore"):
        shutil.copy(ROOT / f, repo / f)
    for dep in sorted(_stage_code_deps()):
        src, dst = ROOT / dep, repo / dep
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def ran_stages(out: str) -> list[str]:
    return [line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage '")]


def _shared_dir(tmp_path_factory) -> Path:
    """A folder every process of this test run sees: with pytest-xdist, the run's folder above each
    worker's own; without it, this session's base folder."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def _run_once_lock(path: Path):
    """Held by one process of the test run at a time (the xdist workers build a shared fixture once)."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def prefect_rows(api_url: str, path: str, body: dict) -> list[dict]:
    """Every row a filter endpoint of the Prefect API returns, page by page."""
    rows: list[dict] = []
    while True:
        data = json.dumps({**body, "limit": 200, "offset": len(rows)}).encode()
        req = Request(api_url + path, method="POST", data=data, headers={"Content-Type": "application/json"})
        with urlopen(req, timeout=30) as r:
            page = json.loads(r.read())
        rows += page
        if len(page) < 200:
            return rows


def _prefect_record(api_url: str, tag: str) -> dict:
    """What the Prefect server holds of the flow runs tagged `tag`: the runs, their task runs and log
    lines; read until two reads a second apart agree (the steps' last log lines arrive as they exit)."""
    last = None
    for _ in range(PREFECT_SETTLE_READS):
        flows = prefect_rows(api_url, "/flow_runs/filter", {"flow_runs": {"tags": {"all_": [tag]}}})
        tasks = prefect_rows(api_url, "/task_runs/filter", {"flow_runs": {"tags": {"all_": [tag]}}})
        logs = prefect_rows(api_url, "/logs/filter", {"logs": {"flow_run_id": {"any_": [f["id"] for f in flows]}}})
        record = {"flow_runs": flows, "task_runs": tasks, "logs": logs}
        if last is not None and [len(v) for v in last.values()] == [len(v) for v in record.values()]:
            return record
        last = record
        time.sleep(PREFECT_SETTLE_S)
    return last


def _build_smoke_project(repo: Path, prefect_server: dict) -> dict:
    """A project checkout whose footage (data/ipad) is imported, versioned with `dvc add`, and run
    through the whole pipeline (`dvc repro`, smoke profile) against `prefect_server`."""
    import shutil

    from ipad_vad.method_index import write_stage_items

    copy_project_skeleton(repo)
    shutil.copytree(ROOT / "infra", repo / "infra")
    sh([sys.executable, str(ROOT / "scripts/smoke_params.py"), "smoke", str(repo / "params.yaml")], repo, os.environ)
    params = (repo / "params.yaml").read_text().replace("root: data/synth", "root: data/ipad", 1)
    (repo / "params.yaml").write_text(params)
    write_stage_items(repo / "params.yaml")  # dvc.yaml's per-method stages over the smoke profile's methods
    env = project_env(repo, prefect_server)
    sh("ipad data synth --profile smoke --out ../footage", repo, env)
    sh("ipad data import ../footage --out data/ipad", repo, env)
    sh(
        "git init -q && dvc init -q && dvc config core.analytics false && dvc add -q data/ipad && git add -A "
        "&& git commit -qm init",
        repo,
        env,
    )
    first = sh("dvc repro", repo, env)
    sh("ipad runs finish", repo, env)  # as make demo does: the MLflow parent run ends with the pipeline
    sh("git add dvc.lock .gitignore && git commit -qm 'pipeline run'", repo, env)
    return {"first": first.stdout, "prefect": _prefect_record(prefect_server["url"], f"pipeline:{SMOKE_PIPELINE_ID}")}


def project_env(repo: Path, prefect_server: dict, pipeline_id: str = SMOKE_PIPELINE_ID) -> dict:
    """The environment of a project's `ipad`/`dvc` commands: its own MLflow store, the test Prefect
    server, runs tagged pipeline:<pipeline_id>, a git identity."""
    return dict(
        os.environ,
        PATH=f"{VENV_BIN}:{os.environ['PATH']}",
        PREFECT_API_URL=prefect_server["url"],
        PREFECT_HOME=prefect_server["home"],
        MLFLOW_TRACKING_URI=f"sqlite:///{repo / 'mlflow.db'}",
        IPAD_PIPELINE_ID=pipeline_id,
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@t",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@t",
    )


def _repoint_mlflow_store(db: Path, old: Path, new: Path) -> None:
    """A copied project's MLflow store names the copy's files: every stored path under `old` (artifact
    locations, run artifact URIs, model version sources) is rewritten under `new`."""
    import sqlite3

    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for t in tables:
            columns = con.execute(f'PRAGMA table_info("{t}")').fetchall()
            for col in [c[1] for c in columns if "CHAR" in c[2].upper() or "TEXT" in c[2].upper()]:
                con.execute(
                    f'UPDATE "{t}" SET "{col}" = replace("{col}", ?, ?) WHERE instr("{col}", ?) > 0',
                    (str(old), str(new), str(old)),
                )
        con.commit()
    finally:
        con.close()


@pytest.fixture(scope="session")
def smoke_build(tmp_path_factory, prefect_server):
    """The smoke project, built once per test run whichever xdist worker asks first (the others wait
    and reuse it); never changed afterwards: tests work on copies (`smoke_project`)."""
    import shutil

    shared = _shared_dir(tmp_path_factory) / "smoke-build"
    done, failed = shared / "build.json", shared / "build.failed"
    with _run_once_lock(shared.parent / "smoke-build.lock"):
        if failed.is_file():  # one failed build fails every test that needs it, without building again
            pytest.fail(f"the smoke project's build failed (in another worker):\n{failed.read_text()}")
        if not done.is_file():
            repo = shared / "project"
            shutil.rmtree(shared, ignore_errors=True)
            shared.mkdir(parents=True)
            try:
                record = _build_smoke_project(repo, prefect_server)
            except BaseException as e:
                failed.write_text(str(e)[-8000:])
                raise
            tmp = done.with_suffix(".tmp")
            tmp.write_text(json.dumps({"path": str(repo), **record}))
            tmp.rename(done)
    return json.loads(done.read_text())


@pytest.fixture(scope="module")
def smoke_project(smoke_build, tmp_path_factory, prefect_server):
    """A module's own copy of the smoke project (its footage imported, versioned with `dvc add`, and
    run through the whole pipeline, `dvc repro` with the smoke profile), reporting to this worker's
    Prefect server: the pipeline, storage, serve and worker end-to-end tests change it (new footage,
    a DVC remote, deployments) without seeing each other's changes, so they can run side by side.
    ``first`` is the build's `dvc repro` output, ``prefect`` what the Prefect server recorded of it."""
    import shutil

    src = Path(smoke_build["path"])
    repo = tmp_path_factory.mktemp("e2e") / "project"
    shutil.copytree(
        src,
        repo,
        symlinks=True,
        ignore=lambda d, names: [n for n in names if (Path(d) / n) in (src / ".prefect", src / ".dvc" / "tmp")],
    )
    _repoint_mlflow_store(repo / "mlflow.db", src, repo)
    return {
        "path": repo,
        "env": project_env(repo, prefect_server),
        "first": smoke_build["first"],
        "prefect": smoke_build["prefect"],
    }
