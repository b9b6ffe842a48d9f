from prefect import flow

from tasks.common import params
from tasks.data import validate_task


@flow(name="validate")
def validate_flow(profile: str | None = None) -> dict:
    return validate_task(params(profile))
