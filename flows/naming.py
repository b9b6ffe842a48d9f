"""What the Prefect UI shows of a run: flow runs named by step and subject (``evaluate knn R02``,
``prepare S03``) instead of Prefect's random names, and every run of one pipeline run tagged
``pipeline:<id>`` (``IPAD_PIPELINE_ID``, the id the MLflow parent run carries too) so that one tag
filter in the UI shows one pipeline run — its DVC stages are separate processes, each its own flow run.
"""

from __future__ import annotations

import contextlib
import os
from typing import Callable, Iterator

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


@contextlib.contextmanager
def tagged(pipeline_id: str | None = None) -> Iterator[None]:
    """Runs created inside carry the pipeline's tag (none without a pipeline id)."""
    from prefect import tags

    with tags(*pipeline_tags(pipeline_id)):
        yield
