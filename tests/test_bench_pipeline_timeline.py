"""bench_pipeline's per-stage work and overhead, computed from a dvc repro log by hand."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from bench_pipeline import summary, timeline  # noqa: E402

LOG = """Running stage 'params':
> ipad params resolve
Running stage 'prepare@A':
23:59:58.000 | INFO    | Flow run 'prepare A' - Beginning flow run
23:59:59.500 | INFO    | Flow run 'prepare A' - Finished in state Completed()
Updating lock file 'dvc.lock'
Running stage 'adapt@x-A':
00:00:03.000 | INFO    | Flow run 'adapt x A' - Beginning flow run
00:00:04.250 | INFO    | Flow run 'adapt x A' - Finished in state Completed()
Running stage 'adapt@y-A':
00:00:06.000 | INFO    | Flow run 'adapt y A' - Beginning flow run
00:00:09.000 | INFO    | Flow run 'adapt y A' - Finished in state Completed()
"""


def test_work_span_and_overhead_across_midnight():
    t = timeline(LOG.splitlines())
    assert list(t) == ["prepare@A", "adapt@x-A", "adapt@y-A"]  # params logs nothing through Prefect
    assert t["prepare@A"] == {"work": 1.5, "span": 5.0, "overhead": 3.5}
    assert t["adapt@x-A"] == {"work": 1.25, "span": 3.0, "overhead": 1.75}
    assert t["adapt@y-A"] == {"work": 3.0}  # the last stage: no next first line
    s = summary(t)
    assert s["work_seconds"] == 5.8 and s["overhead_seconds"] == 5.2 and s["overhead_median_per_stage"] == 2.62
    assert s["groups"]["adapt"] == {"stages": 2, "work": 4.2, "overhead": 1.8}


def test_the_stages_an_ingest_reran_are_read_from_the_summary_it_prints():
    from io import StringIO

    from bench_pipeline import ingest_stages
    from rich.console import Console

    ran = ["validate", "prepare_device@R01", "adapt_evaluate@knn-R01", "report", "promote@R01"]
    buf = StringIO()
    Console(file=buf, width=60).print({"ingested": ["R01/training/a.mkv"], "stages_run": ran, "retrained": True})
    assert "\n" in buf.getvalue().strip()  # rich wraps the list over lines, as `ipad ingest` prints it
    assert ingest_stages(buf.getvalue()) == ran
    assert ingest_stages("landing: nothing new") == []
