from prefect import flow

from flows.naming import run_name
from tasks.common import params
from tasks.registry import promote_task


@flow(name="promote", flow_run_name=run_name("promote", "device"))
def promote_flow(device: str, profile: str | None = None) -> dict:
    return promote_task(params(profile, build=[]), device)  # builds the winner only (its settings checked then)
