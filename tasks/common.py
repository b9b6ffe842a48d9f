"""Settings and helpers shared by the tasks."""

from prefect.tasks import exponential_backoff

IO_RETRIES = dict(retries=2, retry_delay_seconds=exponential_backoff(backoff_factor=2), retry_jitter_factor=0.5)
GPU_TAGS = ["gpu"]


def params(profile: str | None = None) -> dict:
    from ipad_vad.config import load_params
    from ipad_vad.jobs.layout import check
    from ipad_vad.jobs.settings import PipelineSettings

    p = load_params("params.yaml", profile)
    check(p)  # pipeline.scenes == pretrain_scenes + devices, or a clear error before any work
    PipelineSettings.from_params(p)  # known methods, promote_methods among them
    return p


def log(message: str, *args) -> None:
    """A line of the project's own in the run's log (what the Prefect UI shows under the flow or task
    run): frames processed, loss per epoch, AUCs, the promotion decision."""
    from prefect import get_run_logger

    get_run_logger().info(message, *args)
