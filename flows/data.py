from prefect import flow

from flows.naming import run_name
from tasks.common import params
from tasks.data import validate_task


@flow(name="validate", flow_run_name=run_name("validate"))
def validate_flow(profile: str | None = None) -> dict:
    return validate_task(params(profile))
