from prefect import flow

from flows.naming import run_name
from tasks.common import params
from tasks.registry import register_base_task
from tasks.train import adapt_task, pretrain_task


@flow(name="pretrain", flow_run_name=run_name("pretrain", "method"))
def pretrain_flow(method: str | None = None, profile: str | None = None) -> dict:
    """Base model of one method (default: every method of pipeline.methods) on the pretrain scenes;
    the bases of the methods that compete for a device's champion are registered as
    `ipad-vad-base-<method>`."""
    p = params(profile, [method] if method else None)
    methods = [method] if method else list(p["pipeline"]["methods"])
    results = {}
    for m in methods:
        results[m] = pretrain_task(p, m)
        if m in p["pipeline"]["promote_methods"]:
            results[m]["registered"] = register_base_task(p, m)
    return results


@flow(name="adapt", flow_run_name=run_name("adapt", "method", "device"))
def adapt_flow(device: str, method: str | None = None, profile: str | None = None) -> dict:
    """Adapt one method (default: every method) to one device."""
    p = params(profile, [method] if method else None)
    methods = [method] if method else list(p["pipeline"]["methods"])
    return {m: adapt_task(p, m, device) for m in methods}
