"""Where the object store is. Endpoint, bucket and prefixes come from params.yaml's `storage:`,
overridden by the environment; credentials only from the environment (or boto3's usual chain:
~/.aws, instance roles), never from code or params.

=====================  =============================================  ========================
setting                environment (wins)                             params.yaml
=====================  =============================================  ========================
bucket                 IPAD_S3_BUCKET                                 storage.bucket
endpoint               IPAD_S3_ENDPOINT_URL, AWS_ENDPOINT_URL_S3,     storage.endpoint_url
                       AWS_ENDPOINT_URL                               ("" = AWS itself)
region                 AWS_DEFAULT_REGION, AWS_REGION                 storage.region
credentials            AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY       (never)
=====================  =============================================  ========================
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import ConfigError
from ..settings.storage import Storage


@dataclass(frozen=True)
class S3Settings:
    """Where the landing zone is: params.yaml's ``storage:`` (its keys and defaults:
    settings/storage.py) with the environment's overrides resolved."""

    bucket: str
    endpoint_url: str | None
    region: str | None
    landing_prefix: str
    archive_prefix: str
    ledger_key: str

    @classmethod
    def from_params(cls, storage: dict | None = None, env: dict | None = None) -> S3Settings:
        """`storage`: the ``storage:`` section (keys left out: their defaults); `env`: os.environ."""
        from ..params_schema import validate_section

        s = validate_section(Storage, storage or {}, "storage settings", "storage")
        env = os.environ if env is None else env
        first = lambda *names: next((env[n] for n in names if env.get(n)), "")  # noqa: E731 - the first set
        bucket = first("IPAD_S3_BUCKET") or s.bucket
        if not bucket:
            raise ConfigError("no S3 bucket: set IPAD_S3_BUCKET or storage.bucket in params.yaml")
        endpoint = first("IPAD_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL") or s.endpoint_url or None
        region = first("AWS_DEFAULT_REGION", "AWS_REGION") or s.region or None
        landing, archive = _slash(s.landing_prefix), _slash(s.archive_prefix)
        if landing == archive:
            raise ConfigError("storage.landing_prefix and storage.archive_prefix must differ")
        return cls(bucket, endpoint, region, landing, archive, s.ledger_key)

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}),
        )

    def url(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{key}"


def _slash(prefix: str) -> str:
    return prefix if prefix.endswith("/") else prefix + "/"
