"""The processed-object ledger of the landing prefix, kept in the bucket beside it (one JSON
object, rewritten whole: an S3 PUT is atomic, so a reader sees the old or the new ledger, never a
mix).

An object is identified by key *and* ETag: the same key uploaded again with other content is new
footage. States, in order:

  downloaded   fetched and checksum-verified; not yet part of a committed data version
  committed    its data version is committed (dvc add + dvc repro + git commit): never ingested again
  archived     moved to the archive prefix
  rejected     not usable footage (not a video, truncated, ...): reported by key, left in landing,
               not retried until it is uploaded again (a new ETag)

A run that dies between download and commit leaves `downloaded` entries: the next run ingests those
objects again (the importer is idempotent by content, so nothing is doubled). A run that dies
between commit and archive leaves `committed` entries: the next run archives them without ingesting.
One poller at a time (the deployment's concurrency limit): the ledger is not a lock.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

DONE = ("committed", "archived")


@dataclass
class Ledger:
    entries: dict[str, dict] = field(default_factory=dict)  # "key@etag" -> {key, etag, state, ...}

    @staticmethod
    def ident(key: str, etag: str) -> str:
        return f"{key}@{etag.strip(chr(34))}"

    def state(self, key: str, etag: str) -> str | None:
        e = self.entries.get(self.ident(key, etag))
        return e["state"] if e else None

    def mark(self, key: str, etag: str, state: str, **info) -> None:
        ident = self.ident(key, etag)
        e = self.entries.setdefault(ident, {"key": key, "etag": etag.strip('"')})
        e.update(info, state=state, updated=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))

    def in_state(self, *states: str) -> list[dict]:
        return [e for e in self.entries.values() if e["state"] in states]

    @classmethod
    def load(cls, client, bucket: str, key: str) -> Ledger:
        try:
            body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except client.exceptions.NoSuchKey:
            return cls()
        return cls(json.loads(body)["entries"])

    def save(self, client, bucket: str, key: str) -> None:
        body = json.dumps({"version": 1, "entries": self.entries}, indent=1, sort_keys=True).encode()
        client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
