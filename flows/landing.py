"""Retraining from the S3 landing prefix: list what is new (the ledger in the bucket says what was
processed), download and verify it, ingest it (bad footage is reported by key and left in
landing), version it (dvc add), rerun only what changed (dvc repro: the affected devices' stages,
ending with promotion by the registry rule), commit, push data and models to the DVC remote, and
only then archive the objects. Deployed as `ipad-retrain-on-footage` (prefect.yaml): polled on a
schedule and triggered by an `ipad.footage.landed` event. See storage/ledger.py for what a run that
dies halfway leaves behind and how the next run resumes."""

from __future__ import annotations

import shutil
from pathlib import Path

from prefect import flow

from ipad_vad.storage.landing import LandingZone
from ipad_vad.storage.ledger import Ledger
from ipad_vad.storage.s3_settings import S3Settings
from tasks.common import params
from tasks.ingest import (
    dvc_add_task,
    dvc_pull_task,
    dvc_push_task,
    dvc_repro_task,
    git_commit_task,
    ingest_task,
    pipeline_changed_task,
)
from tasks.storage import archive_committed, archive_task, download_task, key_of, save_ledger


@flow(name="ipad-retrain-from-landing", log_prints=True)
def retrain_from_landing(
    devices: list[str] | None = None, profile: str | None = None, commit: bool = True, push: bool = True
) -> dict:
    p = params(profile)
    zone = LandingZone(S3Settings.from_params(p.get("storage")))
    ledger = Ledger.load(zone.client, zone.s.bucket, zone.s.ledger_key)
    archived = archive_committed(zone, ledger)
    new = zone.new_objects(ledger, devices)
    summary = {
        "new": len(new),
        "downloaded": [],
        "failed": [],
        "rejected": [],
        "ingested": {},
        "stages_run": [],
        "committed": False,
        "pushed": False,
        "archived": archived,
    }
    if not new:
        print(f"nothing new under {zone.s.url(zone.s.landing_prefix)}")
        return summary
    if push:
        dvc_pull_task(p)  # a fresh worker starts from the current data version and pipeline outputs
    staging = Path(p["storage"]["staging"])
    shutil.rmtree(staging, ignore_errors=True)
    staged = {}
    for obj in new:
        state = download_task(zone, obj, str(staging), return_state=True)
        if state.is_completed():
            r = state.result()
            staged[str(Path(r["path"]).resolve())] = obj
            ledger.mark(obj.key, obj.etag, "downloaded", sha256=r["sha256"], size=obj.size)
            summary["downloaded"].append(obj.key)
        else:  # left in landing, not in the ledger: tried again at the next poll
            summary["failed"].append({"key": obj.key, "error": str(state.message)})
    save_ledger(zone, ledger)
    ing = ingest_task(p, str(staging), devices) if staged else {"quarantined": [], "imported": {}}
    summary["ingested"] = ing["imported"]
    for q in ing["quarantined"]:
        obj = key_of(q["path"], staged)
        if obj is not None:
            ledger.mark(obj.key, obj.etag, "rejected", reason=q["reason"])
            summary["rejected"].append({"key": obj.key, "reason": q["reason"]})
            print(f"rejected {zone.s.url(obj.key)}: {q['reason']} (left in landing)")
    good = [o for o in staged.values() if ledger.state(o.key, o.etag) == "downloaded"]
    if good:
        dvc_add_task(p)
        if pipeline_changed_task():
            summary["stages_run"] = dvc_repro_task(p)
        if commit:
            git_commit_task(
                p, f"ingest {len(good)} landing object(s) for {', '.join(sorted({o.device for o in good}))}"
            )
            summary["committed"] = True
            if push:
                summary["pushed"] = dvc_push_task()
            for o in good:
                ledger.mark(o.key, o.etag, "committed")
    save_ledger(zone, ledger)
    if summary["committed"]:  # only now: the footage is part of a committed data version
        for o in good:
            ledger.mark(o.key, o.etag, "archived", archive_key=archive_task(zone, o.key, o.etag))
            summary["archived"].append(o.key)
        save_ledger(zone, ledger)
    shutil.rmtree(staging, ignore_errors=True)
    print(
        f"landing: {len(new)} new, {len(good)} ingested, {len(summary['rejected'])} rejected, "
        f"{len(summary['failed'])} failed; stages rerun: {summary['stages_run']}"
    )
    return summary
