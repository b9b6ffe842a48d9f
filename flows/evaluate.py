from prefect import flow

from tasks.common import params
from tasks.evaluate import evaluate_task, report_task


@flow(name="evaluate")
def evaluate_flow(scene: str, profile: str | None = None) -> dict:
    return evaluate_task(params(profile), scene)


@flow(name="report")
def report_flow(profile: str | None = None) -> dict:
    return report_task(params(profile))
