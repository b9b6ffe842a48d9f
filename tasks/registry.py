import mlflow
from prefect import task

from ipad_vad.jobs.promote import promote_device, register_base
from ipad_vad.registry import tracking

from .common import IO_RETRIES


def _lineage(p: dict) -> dict:
    return {"data_version": tracking.data_version(p["data"]["manifest"]), "git_commit": tracking.git_commit()}


@task(name="promote", **IO_RETRIES)
def promote_task(p: dict, device: str) -> dict:
    """Register the device's best method (pipeline.promote_methods) as a new version of
    `ipad-vad-<device>`; `champion` only if it beats the current champion by the margin."""
    with tracking.run(f"promote {device}", "promote", device, manifest=p["data"]["manifest"]):
        record = promote_device(p, device, tags=_lineage(p))
        mlflow.log_metric("auc", record["auc"])
        mlflow.log_metrics({f"auc_{m}": a for m, a in record["candidates"].items()})
        mlflow.set_tags({"decision": record["alias"], "model_version": record["version"], "ipad.method": record["method"]})
    return record


@task(name="register-base", **IO_RETRIES)
def register_base_task(p: dict, method: str) -> dict:
    """Register a method's pretrained base as a new version of `ipad-vad-base-<method>`."""
    with tracking.run(f"register base {method}", "register", manifest=p["data"]["manifest"]):
        return register_base(p, method, tags={"method": method, **_lineage(p)})
