from prefect import flow

from tasks.common import params
from tasks.registry import promote_task


@flow(name="promote")
def promote_flow(device: str, profile: str | None = None) -> dict:
    return promote_task(params(profile), device)
