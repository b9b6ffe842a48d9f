"""The landing prefix: ``s3://<bucket>/<landing>/<device>/[<split>/]<name>.<ext>`` (the same layout as
a local landing folder, see ``pipeline/ingest.py``; test videos may carry ``<name>.npy`` labels).

Listing, verified download, archive after commit, and an upload helper for cameras and people
(it attaches a SHA-256 checksum that the download verifies).
"""

from __future__ import annotations

import base64
import hashlib
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from .ledger import DONE, Ledger
from .s3_settings import S3Settings


@dataclass(frozen=True)
class LandingObject:
    key: str
    etag: str
    size: int
    device: str
    relpath: str  # below the device: "cam1.mp4" or "testing/cam1.mp4"


class LandingZone:
    def __init__(self, settings: S3Settings, client=None):
        self.s = settings
        self.client = client or settings.client()

    # ---- listing ------------------------------------------------------------------------------
    def list_objects(self) -> list[LandingObject]:
        out = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.s.bucket, Prefix=self.s.landing_prefix
        ):
            for o in page.get("Contents", []):
                rel = o["Key"][len(self.s.landing_prefix) :]
                parts = rel.split("/")
                if len(parts) < 2 or not parts[-1] or any(p.startswith(".") for p in parts):
                    continue  # folder markers, files outside <device>/, hidden files
                out.append(LandingObject(o["Key"], o["ETag"].strip('"'), int(o["Size"]), parts[0], "/".join(parts[1:])))
        return sorted(out, key=lambda o: o.key)

    def new_objects(self, ledger: Ledger, devices: list[str] | None = None) -> list[LandingObject]:
        """Objects not yet committed (or rejected in this very version)."""
        return [
            o
            for o in self.list_objects()
            if (devices is None or o.device in devices) and ledger.state(o.key, o.etag) not in (*DONE, "rejected")
        ]

    # ---- download -----------------------------------------------------------------------------
    def download(self, obj: LandingObject, root: str | Path) -> tuple[Path, str]:
        """Download to ``root/<device>/<relpath>`` (written under a temporary name, renamed when
        verified); returns the path and its sha256. A checksum mismatch is a DataError naming the
        object."""
        dest = Path(root) / obj.device / obj.relpath
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(f".{dest.name}.part")
        head = self.client.head_object(
            Bucket=self.s.bucket, Key=obj.key, IfMatch=f'"{obj.etag}"', ChecksumMode="ENABLED"
        )
        # replaced between the HEAD and the download? the checks against the HEAD below catch it
        self.client.download_file(self.s.bucket, obj.key, str(part), ExtraArgs={"ChecksumMode": "ENABLED"})
        try:
            sha256 = verify(part, head, self.s.url(obj.key))
        except DataError:
            part.unlink(missing_ok=True)
            raise
        os.replace(part, dest)
        return dest, sha256

    # ---- archive ------------------------------------------------------------------------------
    def archive_key(self, key: str) -> str:
        return self.s.archive_prefix + key[len(self.s.landing_prefix) :]

    def archive(self, key: str, etag: str) -> str:
        """Copy to the archive prefix, check the copy, then delete from landing (only that version:
        an object uploaded again meanwhile stays)."""
        dst = self.archive_key(key)
        self.client.copy_object(
            Bucket=self.s.bucket,
            Key=dst,
            CopySource={"Bucket": self.s.bucket, "Key": key},
            CopySourceIfMatch=f'"{etag}"',
        )
        src = self.client.head_object(Bucket=self.s.bucket, Key=key)
        copy = self.client.head_object(Bucket=self.s.bucket, Key=dst)
        if copy["ContentLength"] != src["ContentLength"]:
            raise DataError(self.s.url(dst), "archived copy differs in size from the landing object; landing kept")
        if src["ETag"].strip('"') == etag:
            self.client.delete_object(Bucket=self.s.bucket, Key=key)
        return dst

    # ---- upload (cameras, people, tests) ------------------------------------------------------
    def upload(self, device: str, path: str | Path, split: str | None = None, name: str | None = None) -> str:
        path = Path(path)
        key = self.s.landing_prefix + "/".join(p for p in (device, split, name or path.name) if p)
        self.client.upload_file(str(path), self.s.bucket, key, ExtraArgs={"ChecksumAlgorithm": "SHA256"})
        return key


def verify(path: Path, head: dict, where: str) -> str:
    """Check a downloaded file against what the store says about the object: its size, then the
    strongest checksum it has (SHA-256, CRC32, or the MD5 ETag of a single-part upload)."""
    data_sha, data_md5, crc = hashlib.sha256(), hashlib.md5(), 0
    size = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            data_sha.update(chunk)
            data_md5.update(chunk)
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
    if size != int(head["ContentLength"]):
        raise DataError(where, f"download has {size} bytes, the object {head['ContentLength']}")
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    etag = head["ETag"].strip('"')
    checks = []
    if head.get("ChecksumSHA256") and "-" not in head["ChecksumSHA256"]:
        checks.append(("SHA-256", head["ChecksumSHA256"], b64(data_sha.digest())))
    elif head.get("ChecksumCRC32") and "-" not in head["ChecksumCRC32"]:
        checks.append(("CRC32", head["ChecksumCRC32"], b64(crc.to_bytes(4, "big"))))
    if "-" not in etag and len(etag) == 32:  # single-part upload: the ETag is the MD5
        checks.append(("MD5", etag, data_md5.hexdigest()))
    for name, want, got in checks:
        if want != got:
            raise DataError(where, f"{name} checksum mismatch after download (object {want}, file {got})")
    return data_sha.hexdigest()
