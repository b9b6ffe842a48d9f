"""What the Prefect UI shows of a run: flow runs named by step and subject (``evaluate knn R02``,
``prepare S03``) instead of Prefect's random names, and every run of one pipeline run tagged
``pipeline:<id>`` (``IPAD_PIPELINE_ID``, the id the MLflow parent run carries too) so that one tag
filter in the UI shows one pipeline run — its DVC stages are separate processes, each its own flow run.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

PIPELINE_TAG = "pipeline:{}"


def run_name(step: str, *keys: str) -> Callable[[], str]:
    """A ``flow_run_name`` callable: the step, then the values of the flow's parameters ``keys`` that
    are set (``evaluate knn R02``; ``evaluate R02`` for every method; ``report``)."""

    def name() -> str:
        from prefect.runtime import flow_run

        params = flow_run.parameters or {}
        return " ".join([step, *(str(params[k]) for k in keys if params.get(k))])

    return name


def pipeline_tags(pipeline_id: str | None = None) -> list[str]:
    pid = pipeline_id or os.environ.get("IPAD_PIPELINE_ID")
    return [PIPELINE_TAG.format(pid)] if pid else []


def tag_this_flow_run(pipeline_id: str | None = None) -> list[str]:
    """Add the pipeline's tag to the running flow run itself (a run started from a deployment — the
    UI's Run button, a schedule, ``run_deployment`` — is created by the server without it; the
    ``tags`` context only reaches the runs created inside). Returns the run's tags."""
    from prefect import get_client
    from prefect.runtime import flow_run

    new = pipeline_tags(pipeline_id)
    if not new or flow_run.id is None:
        return list(flow_run.tags or [])
    with get_client(sync_client=True) as client:
        have = list(client.read_flow_run(flow_run.id).tags or [])
        if all(t in have for t in new):
            return have
        client.update_flow_run(flow_run.id, tags=[*have, *(t for t in new if t not in have)])
        return [*have, *(t for t in new if t not in have)]


@contextlib.contextmanager
def tagged(pipeline_id: str | None = None) -> Iterator[None]:
    """Runs created inside carry the pipeline's tag (none without a pipeline id)."""
    from prefect import tags

    with tags(*pipeline_tags(pipeline_id)):
        yield
