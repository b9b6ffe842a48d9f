import mlflow
from prefect import task

from ipad_vad.jobs.promote import promote_device, register_base
from ipad_vad.registry import tracking

from .common import IO_RETRIES, log


def _lineage(p: dict) -> dict:
    return {"data_version": tracking.data_version(p["data"]["manifest"]), "git_commit": tracking.git_commit()}


@task(name="promote", **IO_RETRIES)
def promote_task(p: dict, device: str) -> dict:
    """Register the device's best method (pipeline.promote_methods) as a new version of
    `ipad-vad-<device>`; `champion` only if it beats the current champion by the margin."""
    with tracking.run(f"promote {device}", "promote", device, manifest=p["data"]["manifest"]):
        record = promote_device(p, device, tags=_lineage(p))
        mlflow.log_metric("auc_pct", record["auc"])  # the record's AUCs are in percent (jobs/promote.py)
        mlflow.log_metrics({tracking.metric_name("candidate_auc_pct", m): a for m, a in record["candidates"].items()})
        mlflow.set_tags(
            {"decision": record["alias"], "model_version": record["version"], "ipad.method": record["method"]}
        )
    prev = (
        f"; champion was v{record['previous_champion']} at AUC {record['previous_auc']:.1f}"
        if record["previous_champion"]
        else "; no champion before"
    )
    log(
        "promote %s: %s v%s (%s, AUC %.1f among %s) -> %s%s%s",
        device,
        record["model"],
        record["version"],
        record["method"],
        record["auc"],
        ", ".join(f"{m} {a:.1f}" for m, a in record["candidates"].items()),
        record["alias"],
        prev,
        "" if record["usable"] else f"; below promote_min_auc {record['min_auc']:g}: {device} has no usable detector",
    )
    return record


@task(name="register-base", **IO_RETRIES)
def register_base_task(p: dict, method: str) -> dict:
    """Register a method's pretrained base as a new version of `ipad-vad-base-<method>`."""
    with tracking.run(f"register base {method}", "register", manifest=p["data"]["manifest"]):
        res = register_base(p, method, tags={"method": method, **_lineage(p)})
    log("registered the base of %s as %s v%s", method, res["model"], res["version"])
    return res
