from prefect import task

from ipad_vad.jobs.validate import validate_footage

from .common import log


@task(name="validate", retries=0)  # a failed gate stops the pipeline; retrying cannot fix data
def validate_task(p: dict) -> dict:
    done = validate_footage(p)
    r = done.report
    log("validation: %s; %d video(s) kept, %d excluded; manifest %s", r.summary().splitlines()[0], len(done.kept),
        len(r.excluded), done.manifest)
    return {"videos": len(done.kept), "excluded": len(r.excluded), "passed": r.success}
