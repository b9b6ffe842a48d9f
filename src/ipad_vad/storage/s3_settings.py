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


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    endpoint_url: str | None = None
    region: str | None = None
    landing_prefix: str = "landing/"
    archive_prefix: str = "archive/"
    ledger_key: str = "ipad/landing-ledger.json"

    @classmethod
    def from_params(cls, storage: dict | None = None, env: dict | None = None) -> "S3Settings":
        storage, env = storage or {}, os.environ if env is None else env
        bucket = env.get("IPAD_S3_BUCKET") or storage.get("bucket")
        if not bucket:
            raise ConfigError("no S3 bucket: set IPAD_S3_BUCKET or storage.bucket in params.yaml")
        endpoint = (env.get("IPAD_S3_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
                    or storage.get("endpoint_url") or None)
        region = env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION") or storage.get("region") or None
        prefixes = {k: _slash(storage.get(k, d)) for k, d in (("landing_prefix", "landing/"), ("archive_prefix", "archive/"))}
        if prefixes["landing_prefix"] == prefixes["archive_prefix"]:
            raise ConfigError("storage.landing_prefix and storage.archive_prefix must differ")
        return cls(bucket, endpoint, region, ledger_key=storage.get("ledger_key", "ipad/landing-ledger.json"), **prefixes)

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=self.region,
                            config=Config(retries={"max_attempts": 5, "mode": "standard"}))

    def url(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{key}"


def _slash(prefix: str) -> str:
    return prefix if prefix.endswith("/") else prefix + "/"
