"""The whole pipeline as one flow: validate -> prepare (per scene) -> pretrain -> finetune (per
device) -> evaluate (per scene) -> report -> promote (per device). Per-scene work fans out with
`.map`; on a cluster each mapped task runs where the `gpu` concurrency limit lets it."""

from __future__ import annotations

from prefect import flow, unmapped

from tasks.common import params
from tasks.data import validate_task
from tasks.evaluate import evaluate_task, report_task
from tasks.prepare import cache_task, flow_task, period_task
from tasks.registry import promote_task, register_base_task
from tasks.train import finetune_task, pretrain_task


@flow(name="ipad-pipeline", log_prints=True)
def ipad_pipeline(profile: str | None = None, devices: list[str] | None = None) -> dict:
    """`devices`: restrict fine-tuning, evaluation and promotion to these devices (retraining)."""
    p = params(profile)
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
        if "ipad_vad" in pipe["methods"]:
            register_base_task(p)
    tuned = [finetune_task.submit(p, m, d) for m in pipe["methods"] for d in devs]
    evals = evaluate_task.map(unmapped(p), scenes, wait_for=tuned)
    evals.wait()
    summary = report_task(p) if devices is None else {e["scene"]: e["auc"] for e in evals.result()}
    decisions = promote_task.map(unmapped(p), devs, wait_for=evals).result() if devs else []
    print(f"pipeline done: {summary}")
    return {"summary": summary, "promotions": decisions}
