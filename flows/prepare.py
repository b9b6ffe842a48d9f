from prefect import flow

from flows.naming import run_name
from tasks.common import params
from tasks.prepare import cache_task, flow_task, period_task


@flow(name="prepare", flow_run_name=run_name("prepare", "scene"))
def prepare_flow(scene: str, profile: str | None = None) -> dict:
    """preprocess (decoded cache) -> optical flow -> period, for one scene."""
    p = params(profile, build=[])  # runs no method: never imports torch
    cached = cache_task(p, scene)
    flowed = flow_task(p, scene, wait_for=[cached])
    return period_task(p, scene, wait_for=[flowed])
