"""Retraining on new footage: ingest from the landing folder, version the data with DVC, rerun
only the affected devices' stages (`dvc repro`), which ends with promotion by the registry rule.
Deployed nightly (cron) and on a `ipad.footage.landed` event (prefect.yaml)."""

from __future__ import annotations

from prefect import flow

from tasks.common import params
from tasks.ingest import (
    dvc_add_task,
    dvc_repro_task,
    git_commit_task,
    ingest_task,
    pipeline_changed_task,
    uncommitted_task,
)


@flow(name="ipad-retrain", log_prints=True)
def retrain_on_footage(
    landing: str = "landing", devices: list[str] | None = None, profile: str | None = None, commit: bool = True
) -> dict:
    p = params(profile)
    ing = ingest_task(p, landing, devices)
    dvc_add_task(p)
    if not pipeline_changed_task():  # nothing new, and no earlier ingest left unversioned
        if commit and uncommitted_task(p):  # an earlier run retrained, then died before its commit
            git_commit_task(p, "ingest footage: commit the data version of an interrupted run")
            print(f"nothing new in {landing}; committed the data version an interrupted run left uncommitted")
            return {**ing, "retrained": False, "committed_earlier_run": True}
        print(f"nothing new in {landing} ({ing['unchanged']} already ingested, {len(ing['quarantined'])} quarantined)")
        return {**ing, "retrained": False}
    stages = dvc_repro_task(p)
    if commit:
        git_commit_task(
            p, f"ingest footage for {', '.join(ing['devices']) or 'devices imported by an earlier, interrupted run'}"
        )
    print(f"ingested {ing['imported']}; stages rerun: {stages}")
    return {**ing, "retrained": True, "stages_run": stages}
