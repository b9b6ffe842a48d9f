"""One flow per pipeline step. Each runs ephemerally (a temporary local server) when no
PREFECT_API_URL is set, and shows in the Prefect UI when it is."""

from __future__ import annotations

from prefect import flow

from tasks.common import params
from tasks.data import validate_task
from tasks.evaluate import evaluate_task, report_task
from tasks.prepare import cache_task, flow_task, period_task
from tasks.registry import promote_task, register_base_task
from tasks.train import finetune_task, pretrain_task


@flow(name="validate")
def validate_flow(profile: str | None = None) -> dict:
    return validate_task(params(profile))


@flow(name="prepare")
def prepare_flow(scene: str, profile: str | None = None) -> dict:
    """preprocess (decoded cache) -> optical flow -> period, for one scene."""
    p = params(profile)
    cached = cache_task(p, scene)
    flowed = flow_task(p, scene, wait_for=[cached])
    return period_task(p, scene, wait_for=[flowed])


@flow(name="pretrain")
def pretrain_flow(profile: str | None = None) -> dict:
    """Base models of every method (IPAD-VAD on the pretrain scenes; baselines as configured);
    the IPAD-VAD base is registered as `ipad-vad-base`."""
    p = params(profile)
    results = {m: pretrain_task(p, m) for m in p["pipeline"]["methods"]}
    if "ipad_vad" in results:
        results["registered"] = register_base_task(p)
    return results


@flow(name="finetune")
def finetune_flow(device: str, profile: str | None = None) -> dict:
    """Adapt every method to one device (LoRA for the Swin models, full fine-tuning otherwise)."""
    p = params(profile)
    return {m: finetune_task(p, m, device) for m in p["pipeline"]["methods"]}


@flow(name="evaluate")
def evaluate_flow(scene: str, profile: str | None = None) -> dict:
    return evaluate_task(params(profile), scene)


@flow(name="report")
def report_flow(profile: str | None = None) -> dict:
    return report_task(params(profile))


@flow(name="promote")
def promote_flow(device: str, profile: str | None = None) -> dict:
    return promote_task(params(profile), device)
