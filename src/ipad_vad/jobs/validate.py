"""The validation gate as one job: manifest of the data folder, great-expectations checks, the
on-failure policy, the report (written before a failure is raised) and the validated and per-scene
manifests. ``ipad data validate`` (by hand, with a progress bar) and the pipeline's ``validate``
step (a Prefect flow run, what DVC calls) both run it. A data folder that an interrupted import left
half-written fails it whatever the policy (``import_complete``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from ..data.manifest import build_manifest, write_scene_manifests
from ..data.validation import ValidationReport, apply_policy, import_interrupted, validate_manifest, write_report
from ..io_utils import write_dataframe


@dataclass
class Validated:
    report: ValidationReport
    kept: pd.DataFrame
    manifest: Path
    result: Path  # result.json


def validate_footage(params: dict, root: Path | None = None, manifest_out: Path | None = None,
                     report_dir: Path | None = None, on_failure: str | None = None,
                     progress: Callable[[Iterable, int, str], Iterable] | None = None) -> Validated:
    """Raises ValidationFailed (after writing the report) when the gate fails under ``fail``."""
    d, v = params.get("data", {}), params.get("validation", {})
    root = Path(root or d.get("root", "data/ipad"))
    manifest_out = Path(manifest_out or d.get("manifest", "data/manifest.parquet"))
    report_dir = Path(report_dir or v.get("report_dir", "reports/validation"))
    manifest = build_manifest(root, scenes=d.get("scenes") or None, sample_decode=v.get("sample_decode", 3),
                              progress=progress)
    report = validate_manifest(manifest, min_frames=params.get("clip", {}).get("length", 16))
    if (interrupted := import_interrupted(root)) is not None:  # fails under either policy (issue 29, 3)
        report.failures.insert(0, interrupted)
        report.success = False
    try:
        kept = apply_policy(manifest, report, on_failure or v.get("on_failure", "fail"))
    finally:
        result = write_report(report, report_dir)
    write_dataframe(manifest_out, kept)
    write_scene_manifests(kept, Path(d.get("manifests", manifest_out.parent / "manifests")),
                          {"pretrain": list(params.get("pipeline", {}).get("pretrain_scenes") or [])})
    return Validated(report, kept, manifest_out, result)
