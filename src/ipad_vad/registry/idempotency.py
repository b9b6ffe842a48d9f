"""One model, one registered version (issue 16): registering is keyed by what is registered.

A retried promotion (a Prefect task retry after the registration succeeded, a rerun of the promote
stage on unchanged models) would otherwise register the same model again as one more version. The
key is a SHA-256 over the files that make the registered model — the method's base, the device's
adapted model and the calibration — stored as the version tag ``ipad.content``; a registration
whose key is already a version of that registered model reuses the version (its tags and aliases are
then set again, which is idempotent) instead of logging a new one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

CONTENT_TAG = "ipad.content"


def content_key(*paths: str | Path | None) -> str:
    """SHA-256 over the given files and folders (every file under a folder, by relative path, in
    order; None is skipped): names and bytes, so a renamed or changed file is another key."""
    h = hashlib.sha256()
    for p in paths:
        if p is None:
            continue
        p = Path(p)
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        for f in files:
            h.update(str(f.relative_to(p) if p.is_dir() else f.name).encode() + b"\0")
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            h.update(b"\0")
    return h.hexdigest()


def registered_version(name: str, key: str, client=None):
    """The version of registered model `name` whose content key is `key` (the newest if several),
    None when there is none or the model is not registered yet."""
    import mlflow

    client = client or mlflow.MlflowClient()
    found = client.search_model_versions(f"name='{name}' and tags.`{CONTENT_TAG}` = '{key}'")
    return max(found, key=lambda v: int(v.version)) if found else None
