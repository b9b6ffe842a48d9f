import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import urlopen

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


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
    proc = subprocess.Popen([str(VENV_BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port),
                             "--no-scheduler"], stdout=open(home / "server.log", "w"), stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/api"
    for _ in range(120):
        try:
            with urlopen(url + "/health", timeout=2):
                break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError((home / "server.log").read_text())
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


@pytest.fixture(scope="session")
def smoke_project(tmp_path_factory, prefect_server):
    """A project checkout whose footage (data/ipad) is imported, versioned with `dvc add`, and run
    through the whole pipeline (`dvc repro`, smoke profile). Shared by the pipeline and storage
    end-to-end tests (which only add footage to it)."""
    import shutil

    repo = tmp_path_factory.mktemp("e2e") / "project"
    copy_project_skeleton(repo)
    shutil.copytree(ROOT / "infra", repo / "infra")
    sh([sys.executable, str(ROOT / "scripts/smoke_params.py"), "smoke", str(repo / "params.yaml")], repo, os.environ)
    params = (repo / "params.yaml").read_text().replace("root: data/synth", "root: data/ipad", 1)
    (repo / "params.yaml").write_text(params)
    env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ['PATH']}", PREFECT_API_URL=prefect_server["url"],
               PREFECT_HOME=prefect_server["home"], MLFLOW_TRACKING_URI=f"sqlite:///{repo / 'mlflow.db'}",
               IPAD_PIPELINE_ID="e2e-test", GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t")
    sh("ipad data synth --profile smoke --out ../footage", repo, env)
    sh("ipad data import ../footage --out data/ipad", repo, env)
    sh("git init -q && dvc init -q && dvc config core.analytics false && dvc add -q data/ipad && git add -A "
       "&& git commit -qm init", repo, env)
    first = sh("dvc repro", repo, env)
    sh("ipad runs finish", repo, env)  # as make demo does: the MLflow parent run ends with the pipeline
    sh("git add dvc.lock .gitignore && git commit -qm 'pipeline run'", repo, env)
    return {"path": repo, "env": env, "first": first.stdout}
