"""S3 landing tasks: the library (ipad_vad.storage) does the S3 work; these add retries, logging
and the flow's bookkeeping."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.logging import get_run_logger

from ipad_vad.storage.landing import LandingObject, LandingZone
from ipad_vad.storage.ledger import Ledger

from .common import IO_RETRIES


@task(name="s3-download", **IO_RETRIES)
def download_task(zone: LandingZone, obj: LandingObject, staging: str) -> dict:
    """Download and verify one object; a checksum mismatch is retried (transfer errors), then
    reported by key: the object stays in landing for the next poll."""
    path, sha256 = zone.download(obj, staging)
    return {"key": obj.key, "path": str(path), "sha256": sha256}


@task(name="s3-archive", **IO_RETRIES)
def archive_task(zone: LandingZone, key: str, etag: str) -> str:
    return zone.archive(key, etag)


def save_ledger(zone: LandingZone, ledger: Ledger) -> None:
    ledger.save(zone.client, zone.s.bucket, zone.s.ledger_key)


def archive_committed(zone: LandingZone, ledger: Ledger) -> list[str]:
    """Archive what a run committed but did not archive (it died in between)."""
    done = []
    for e in ledger.in_state("committed"):
        try:
            done.append(archive_task(zone, e["key"], e["etag"]))
            ledger.mark(e["key"], e["etag"], "archived", archive_key=done[-1])
        except Exception as ex:  # noqa: BLE001 - reported, retried on the next poll
            get_run_logger().warning(f"archiving {zone.s.url(e['key'])} failed: {ex}")
    if done:
        save_ledger(zone, ledger)
    return done


def key_of(path: str, staged: dict[str, LandingObject]) -> LandingObject | None:
    """The landing object a staged file (or a quarantine entry's path) came from."""
    return staged.get(str(Path(path).resolve()))
