"""Ingest new footage, version it with DVC, rerun what it affects. DVC is driven through its CLI
(the documented interface); the library only imports and reports which devices changed."""

import subprocess
from pathlib import Path

from prefect import task

from ipad_vad.data.fault_points import reach
from ipad_vad.jobs.ingest import ingest_landing

from .common import IO_RETRIES, log


@task(name="ingest", **IO_RETRIES)
def ingest_task(p: dict, landing: str, devices: list[str] | None = None) -> dict:
    res = ingest_landing(landing, p["data"]["root"], devices, min_frames=p["clip"]["length"])
    log(
        "ingest %s: imported %s, %d unchanged, %d quarantined",
        landing,
        {d: len(v) for d, v in res.imported.items()} or "nothing",
        res.unchanged,
        len(res.quarantined),
    )
    return {
        "devices": res.devices,
        "imported": {d: len(v) for d, v in res.imported.items()},
        "unchanged": res.unchanged,
        "quarantined": res.quarantined,
    }


def _run(cmd: list[str], env: dict | None = None) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return out.stdout


@task(name="dvc-add", **IO_RETRIES)
def dvc_add_task(p: dict) -> str:
    """A new data version of the footage dataset (the previous ones stay in the DVC cache)."""
    out = _run(["dvc", "add", p["data"]["root"]])
    reach("dvc-added")
    return out


@task(name="dvc-repro")
def dvc_repro_task(p: dict) -> list[str]:
    """Rerun only what changed (DVC compares every stage's dependencies with dvc.lock); returns the
    stages that ran. The stages form one pipeline run (``IPAD_PIPELINE_ID``, else one named after
    this flow run): one tag in Prefect, one parent run in MLflow, ended with the repro's outcome."""
    import os

    from prefect.runtime import flow_run

    from ipad_vad.jobs.pipeline_run import ends_with_outcome

    pid = os.environ.get("IPAD_PIPELINE_ID") or f"retrain-{flow_run.id}"
    with ends_with_outcome(p, pid):
        out = _run(["dvc", "repro"], env={**os.environ, "IPAD_PIPELINE_ID": pid})
    log("dvc repro: pipeline run %s", pid)
    reach("repro-done")
    return [line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage '")]


@task(name="git-commit", **IO_RETRIES)
def git_commit_task(p: dict, message: str) -> str:
    root = p["data"]["root"]
    # params.resolved.yaml: dvc.lock records its hash, so it travels with dvc.lock (a params.yaml edit
    # before the ingest changes it in the repro)
    resolved = ["params.resolved.yaml"] if Path("params.resolved.yaml").is_file() else []
    _run(["git", "add", f"{root}.dvc", "dvc.lock", ".gitignore", *resolved])
    status = subprocess.run(["git", "diff", "--cached", "--quiet"])
    if status.returncode == 0:
        return "nothing to commit"
    return _run(["git", "commit", "-q", "-m", message])


@task(name="uncommitted")
def uncommitted_task(p: dict) -> bool:
    """Whether the data version or dvc.lock differ from git's HEAD: an earlier run that died between
    its repro and its commit, which this run completes."""
    root = p["data"]["root"]
    return subprocess.run(["git", "diff", "--quiet", "HEAD", "--", f"{root}.dvc", "dvc.lock"]).returncode != 0


@task(name="dvc-changed")
def pipeline_changed_task() -> bool:
    """Whether any stage is out of date with dvc.lock (new data, or an earlier run that died before
    its repro): the criterion for retraining, rather than "something was imported just now"."""
    import json

    return bool(json.loads(_run(["dvc", "status", "--json"]) or "{}"))


def has_remote() -> bool:
    return subprocess.run(["dvc", "remote", "default"], capture_output=True, text=True).stdout.strip() != ""


@task(name="dvc-pull", **IO_RETRIES)
def dvc_pull_task(p: dict) -> bool:
    """On a fresh worker (the footage dataset not in the workspace), fetch the current data version
    and pipeline outputs from the DVC remote. A workspace that has them is left alone: a pull
    checks out the committed version over the workspace, and `--allow-missing` was seen deleting
    a dataset whose objects were not on the remote yet."""
    from pathlib import Path

    if not has_remote() or Path(p["data"]["root"]).exists():
        return False
    _run(["dvc", "pull"])
    return True


@task(name="dvc-push", **IO_RETRIES)
def dvc_push_task() -> bool:
    """Send the new data version and the pipeline outputs to the DVC remote (S3)."""
    if not has_remote():
        return False
    _run(["dvc", "push"])
    return True
