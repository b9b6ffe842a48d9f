"""Settings shared by the tasks."""

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
