from prefect import flow

from flows.naming import run_name
from tasks.common import params
from tasks.prepare import cache_task, flow_task, period_task, summary_task


@flow(name="prepare", flow_run_name=run_name("prepare", "scene", "role"))
def prepare_flow(scene: str | None = None, profile: str | None = None, role: str | None = None) -> dict:
    """preprocess (decoded cache) -> optical flow -> period, for one scene; or, with ``role="pretrain"``,
    for every scene of ``pipeline.pretrain_scenes`` in this one process (one DVC stage: they change
    together, as the synth stage makes them all, and twelve processes cost about a minute of imports
    and flow-run set-up), then their summary, which exists even when there are no pretrain scenes.
    Returns the period result of the scene, or {scene: result} for a role."""
    p = params(profile, build=[])  # runs no method: never imports torch
    if (scene is None) == (role is None):
        raise ValueError("prepare: give one scene or role='pretrain'")
    if scene is not None:
        return _prepare_scene(p, scene)
    if role != "pretrain":
        raise ValueError(f"prepare: role {role!r}: only 'pretrain' is prepared as a whole (devices one by one)")
    results = {s: _prepare_scene(p, s) for s in p["pipeline"]["pretrain_scenes"]}
    summary_task(p, role, results)
    return results


def _prepare_scene(p: dict, scene: str) -> dict:
    cached = cache_task(p, scene)
    flowed = flow_task(p, scene, wait_for=[cached])
    return period_task(p, scene, wait_for=[flowed])
