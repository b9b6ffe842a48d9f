"""The whole pipeline as one flow: validate -> prepare (per scene) -> pretrain -> adapt (per
device) -> evaluate (per scene) -> report -> promote (per device). Per-scene work fans out with
`.map`; on a cluster each mapped task runs where the `gpu` concurrency limit lets it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from prefect import flow, unmapped

from flows.naming import run_name, tag_this_flow_run, tagged
from tasks.common import params
from tasks.data import validate_task
from tasks.evaluate import evaluate_task, report_task
from tasks.prepare import cache_task, flow_task, period_task
from tasks.registry import promote_task, register_base_task
from tasks.train import adapt_task, pretrain_task

ADAPT_DEPLOYMENT = "adapt/ipad-adapt-device"


def adapt_on_workers(devs: list[str], profile: str | None) -> None:
    """One `ipad-adapt-device` flow run per device, started at once: every free GPU worker of the
    pool takes one (the workers share the project workspace: one multi-GPU host's volume, or a
    ReadWriteMany volume on Kubernetes)."""
    import time

    from prefect import get_client
    from prefect.deployments import run_deployment

    from flows.naming import pipeline_tags

    pid = os.environ.get("IPAD_PIPELINE_ID")
    env = {"IPAD_PIPELINE_ID": pid} if pid else {}  # their MLflow runs join this pipeline's parent
    runs = {
        d: run_deployment(
            ADAPT_DEPLOYMENT,
            parameters={"device": d, "profile": profile},
            timeout=0,
            tags=pipeline_tags(),
            job_variables={"env": env},
        ).id
        for d in devs
    }
    states = {}
    with get_client(sync_client=True) as client:
        while len(states) < len(runs):
            for d, run_id in runs.items():
                state = client.read_flow_run(run_id).state
                if d not in states and state is not None and state.is_final():
                    states[d] = state
            time.sleep(0 if len(states) == len(runs) else 10)
    failed = [d for d, st in states.items() if not st.is_completed()]
    if failed:
        raise RuntimeError(f"adapt failed on the GPU workers for devices {failed}")


@contextlib.contextmanager
def pipeline_run(p: dict) -> Iterator[str]:
    """The pipeline id of this run (``IPAD_PIPELINE_ID``, else one made from the flow run's id) for the
    tasks' MLflow runs and the spread runs' tags, and this flow run's own ``pipeline:<id>`` tag (also
    when a deployment started it); the MLflow parent run starts before the first step (validation)
    and ends FINISHED or FAILED with the run."""
    from prefect.runtime import flow_run

    from ipad_vad.jobs.pipeline_run import ends_with_outcome

    given = os.environ.get("IPAD_PIPELINE_ID")
    pid = given or f"prefect-{flow_run.id}"
    os.environ["IPAD_PIPELINE_ID"] = pid
    tag_this_flow_run(pid)
    try:
        with ends_with_outcome(p, pid), tagged(pid):
            yield pid
    finally:
        if given is None:
            os.environ.pop("IPAD_PIPELINE_ID", None)


@flow(name="ipad-pipeline", log_prints=True, flow_run_name=run_name("pipeline", "profile", "devices"))
def ipad_pipeline(profile: str | None = None, devices: list[str] | None = None, spread: bool = False) -> dict:
    """`devices`: restrict adapting, evaluation and promotion to these devices (retraining).
    `spread`: adapt each device in its own flow run on the `gpu` pool (several GPU workers)
    instead of in this run."""
    p = params(profile)
    with pipeline_run(p):
        return _pipeline(p, profile, devices, spread)


def _pipeline(p: dict, profile: str | None, devices: list[str] | None, spread: bool) -> dict:
    pipe = p["pipeline"]
    scenes = list(pipe["scenes"]) if devices is None else list(devices)
    devs = [d for d in pipe["devices"] if devices is None or d in devices]
    validate_task(p)
    cached = cache_task.map(unmapped(p), scenes)  # validation above ran to completion first
    flowed = flow_task.map(unmapped(p), scenes, wait_for=cached)
    periods = period_task.map(unmapped(p), scenes, wait_for=flowed)
    periods.wait()
    if devices is None:  # a full run retrains the bases; a device retrain reuses them
        for m in pipe["methods"]:
            pretrain_task(p, m)
            if m in pipe["promote_methods"]:
                register_base_task(p, m)
    if spread:
        adapt_on_workers(devs, profile)
        tuned = []
    else:
        tuned = [adapt_task.submit(p, m, d) for m in pipe["methods"] for d in devs]
    pairs = [(m, s) for m in pipe["methods"] for s in scenes]
    evals = evaluate_task.map(unmapped(p), [m for m, _ in pairs], [s for _, s in pairs], wait_for=tuned)
    evals.wait()
    summary = report_task(p) if devices is None else {f"{e['method']} {e['scene']}": e["auc"] for e in evals.result()}
    decisions = promote_task.map(unmapped(p), devs, wait_for=evals).result() if devs else []
    print("pipeline done: mean AUC (%, scene norm) " + ", ".join(f"{k} {100 * v:.1f}" for k, v in summary.items()))
    return {"summary": summary, "promotions": decisions}
