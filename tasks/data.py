import mlflow
from prefect import task

from ipad_vad.jobs.validate import validate_footage
from ipad_vad.registry import tracking

from .common import log


@task(name="validate", retries=0)  # a failed gate stops the pipeline; retrying cannot fix data
def validate_task(p: dict) -> dict:
    """The gate, in its own MLflow run under the pipeline's parent (a failed gate: a FAILED run)."""
    with tracking.run("validate", "validate"):
        done = validate_footage(p)
        r = done.report
        mlflow.log_metrics({"videos_kept": len(done.kept), "videos_excluded": len(r.excluded)})
        mlflow.set_tag("data_version", tracking.data_version(done.manifest))
    log(
        "validation: %s; %d video(s) kept, %d excluded; manifest %s",
        r.summary().splitlines()[0],
        len(done.kept),
        len(r.excluded),
        done.manifest,
    )
    return {"videos": len(done.kept), "excluded": len(r.excluded), "passed": r.success}
