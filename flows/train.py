from prefect import flow

from tasks.common import params
from tasks.registry import register_base_task
from tasks.train import finetune_task, pretrain_task


@flow(name="pretrain")
def pretrain_flow(profile: str | None = None) -> dict:
    """Base models of every method on the pretrain scenes; the IPAD-VAD base is registered as
    `ipad-vad-base`."""
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
