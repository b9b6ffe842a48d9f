"""``storage:``: the S3 / MinIO landing zone. The environment overrides bucket, endpoint and region
(storage/s3_settings.S3Settings); credentials only ever come from the environment."""

from __future__ import annotations

from ._base import Section


class Storage(Section):
    bucket: str = ""  # "": none (IPAD_S3_BUCKET must name one)
    endpoint_url: str = ""  # "": AWS S3 itself
    region: str = ""  # "": boto3's default
    landing_prefix: str = "landing/"  # cameras drop footage at landing/<device>/[<split>/]<name>.mp4
    archive_prefix: str = "archive/"  # processed footage moves here once its data version is committed
    ledger_key: str = "ipad/landing-ledger.json"  # what was processed (storage/ledger.py)
    staging: str = "landing_s3"  # local folder the downloads go to before import
