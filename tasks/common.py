"""Settings and helpers shared by the tasks."""

from prefect.tasks import exponential_backoff

IO_RETRIES = dict(retries=2, retry_delay_seconds=exponential_backoff(backoff_factor=2), retry_jitter_factor=0.5)
GPU_TAGS = ["gpu"]


def params(profile: str | None = None, build: list[str] | None = None) -> dict:
    """./params.yaml with its profile, checked before any work. `build`: the methods whose settings
    (``methods.<m>``) are checked by building them: those the step runs, none for a step that runs no
    method (it then never imports torch); default: every method of pipeline.methods, as at the start
    of a pipeline run (the validate step, the pipeline and retraining flows)."""
    from ipad_vad.config import load_params
    from ipad_vad.jobs.layout import check
    from ipad_vad.jobs.settings import PipelineSettings

    p = load_params("params.yaml", profile)
    check(p)  # pipeline.scenes == pretrain_scenes + devices, or a clear error before any work
    PipelineSettings.from_params(p, build)  # known methods, promote_methods among them
    return p


def log(message: str, *args) -> None:
    """A line of the project's own in the run's log (what the Prefect UI shows under the flow or task
    run): frames processed, loss per epoch, AUCs, the promotion decision."""
    from prefect import get_run_logger

    get_run_logger().info(message, *args)
