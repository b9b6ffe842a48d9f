from prefect import flow

from flows.naming import run_name
from tasks.common import params
from tasks.evaluate import evaluate_pretrain_task, evaluate_task, report_task


@flow(name="evaluate", flow_run_name=run_name("evaluate", "method", "scene"))
def evaluate_flow(scene: str | None = None, method: str | None = None, profile: str | None = None) -> dict:
    """One method (default: every method) on one scene, or, without a scene, on every pretrain scene
    (the base model changes for all of them at once)."""
    p = params(profile, [method] if method else None)
    methods = [method] if method else list(p["pipeline"]["methods"])
    if scene:
        return {f"{m} {scene}": evaluate_task(p, m, scene) for m in methods}
    return {f"{m} {s}": r for m in methods for s, r in evaluate_pretrain_task(p, m).items()}


@flow(name="report", flow_run_name=run_name("report"))
def report_flow(profile: str | None = None) -> dict:
    return report_task(params(profile, build=[]))  # reads evaluations, builds no method
