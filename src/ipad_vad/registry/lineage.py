"""Which training run produced a registered model's files.

A device's model is registered by the promote step, so MLflow's own lineage of the version points at
the promote run. The run that *produced* the files is a pretrain or fine-tune run, possibly of an
earlier pipeline run (DVC skips a stage whose inputs did not change). Each training run is tagged
with the content key of what it wrote (``ipad.produced``, the SHA-256 of ``idempotency.content_key``);
registering looks the key up, so the version's ``finetune_run_id`` / ``pretrain_run_id`` tags name the
run whose bytes were registered — exact even across pipeline runs, and absent (not guessed) when the
files were made outside a tracked run (``ipad train`` by hand).
"""

from __future__ import annotations

from pathlib import Path

from .idempotency import content_key

PRODUCED_TAG = "ipad.produced"


def mark_produced(*paths: str | Path) -> str:
    """Tag the active run as the producer of these files; returns their key."""
    import mlflow

    key = content_key(*paths)
    mlflow.set_tag(PRODUCED_TAG, key)
    return key


def producing_run(stage: str, *paths: str | Path, client=None) -> str | None:
    """The newest finished run of ``stage`` (pretrain | finetune) that produced exactly these files."""
    import mlflow

    from .tracking import EXPERIMENT

    client = client or mlflow.MlflowClient()
    exp = client.get_experiment_by_name(EXPERIMENT)
    if exp is None:
        return None
    found = client.search_runs([exp.experiment_id], f"tags.`ipad.stage` = '{stage}' and tags.`{PRODUCED_TAG}` = "
                               f"'{content_key(*paths)}' and attributes.status = 'FINISHED'",
                               order_by=["attributes.start_time DESC"], max_results=1)
    return found[0].info.run_id if found else None


def lineage_tags(base: Path, adapted: Path | None) -> dict[str, str]:
    """``pretrain_run_id`` (the base) and ``finetune_run_id`` (the device's adapted model), where known."""
    runs = {"pretrain_run_id": producing_run("pretrain", base)}
    if adapted is not None:
        runs["finetune_run_id"] = producing_run("finetune", adapted)
    return {k: v for k, v in runs.items() if v}
