"""Which training run produced a registered model's files.

A device's model is registered by the promote step, so MLflow's own lineage of the version points at
the promote run. The run that *produced* the files is a pretrain or adapt run, possibly of an
earlier pipeline run (DVC skips a stage whose inputs did not change). Each training run is tagged
with the content key of what it wrote (``ipad.produced``, the SHA-256 of ``idempotency.content_key``);
registering looks the key up, so the version's ``adapt_run_id`` / ``pretrain_run_id`` tags name the
run whose bytes were registered — exact even across pipeline runs, and absent (not guessed) when the
files were made outside a tracked run (``ipad train`` by hand).
"""

from __future__ import annotations

from pathlib import Path

from .idempotency import content_key

PRODUCED_TAG = "ipad.produced"
# The adapt step's runs were tagged ``ipad.stage = finetune`` before issue 28 renamed it: files such a
# run produced (DVC skips an unchanged stage) are still found by it.
STAGE_SPELLINGS = {"adapt": ("adapt", "finetune")}


def mark_produced(*paths: str | Path) -> str:
    """Tag the active run as the producer of these files; returns their key."""
    import mlflow

    key = content_key(*paths)
    mlflow.set_tag(PRODUCED_TAG, key)
    return key


def producing_run(stage: str, *paths: str | Path, client=None) -> str | None:
    """The newest finished run of ``stage`` (pretrain | adapt, or its old spelling finetune) that produced
    exactly these files."""
    import mlflow

    from .tracking import EXPERIMENT

    client = client or mlflow.MlflowClient()
    exp = client.get_experiment_by_name(EXPERIMENT)
    if exp is None:
        return None
    key = content_key(*paths)
    found = [
        run
        for name in STAGE_SPELLINGS.get(stage, (stage,))
        for run in client.search_runs(
            [exp.experiment_id],
            f"tags.`ipad.stage` = '{name}' and tags.`{PRODUCED_TAG}` = '{key}' and attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
    ]
    return max(found, key=lambda r: r.info.start_time).info.run_id if found else None


def lineage_tags(base: Path, adapted: Path | None) -> dict[str, str]:
    """``pretrain_run_id`` (the base) and ``adapt_run_id`` (the device's adapted model), where known."""
    runs = {"pretrain_run_id": producing_run("pretrain", base)}
    if adapted is not None:
        runs["adapt_run_id"] = producing_run("adapt", adapted)
    return {k: v for k, v in runs.items() if v}
