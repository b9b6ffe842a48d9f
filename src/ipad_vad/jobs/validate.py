"""The validation gate as one job: manifest of the data folder, great-expectations checks, the
on-failure policy, the report (written before a failure is raised) and the validated and per-scene
manifests. ``ipad data validate`` (by hand, with a progress bar) and the pipeline's ``validate``
step (a Prefect flow run, what DVC calls) both run it. A data folder that an interrupted import left
half-written fails it whatever the policy (``import_complete``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..data.manifest import build_manifest, write_scene_manifests
from ..data.validation import ValidationReport, apply_policy, import_interrupted, validate_manifest, write_report
from ..io_utils import write_dataframe
from ..params_schema import settings_of


@dataclass
class Validated:
    report: ValidationReport
    kept: pd.DataFrame
    manifest: Path
    result: Path  # result.json


def validate_footage(
    params: dict,
    root: Path | None = None,
    manifest_out: Path | None = None,
    report_dir: Path | None = None,
    on_failure: str | None = None,
    progress: Callable[[Iterable, int, str], Iterable] | None = None,
) -> Validated:
    """Raises ValidationFailed (after writing the report) when the gate fails under ``fail``."""
    s = settings_of(params)  # the CLI without a params.yaml passes {}: the defaults
    d, v = s.data, s.validation
    root = Path(root or d.root)
    manifest_given = manifest_out is not None
    manifest_out = Path(manifest_out or d.manifest)
    report_dir = Path(report_dir or v.report_dir)
    manifest = build_manifest(root, scenes=d.scenes or None, sample_decode=v.sample_decode, progress=progress)
    report = validate_manifest(manifest, min_frames=s.clip.length)
    if (interrupted := import_interrupted(root)) is not None:  # fails under either policy (issue 29, 3)
        report.failures.insert(0, interrupted)
        report.success = False
    try:
        kept = apply_policy(manifest, report, on_failure or v.on_failure)
    finally:
        result = write_report(report, report_dir)
    write_dataframe(manifest_out, kept)
    # the per-scene manifests: beside a manifest written elsewhere (``--manifest-out``), else the
    # project's data.manifests — never the project's folder for another folder's footage (it removes
    # the files of scenes it does not hold)
    scene_dir = Path(manifest_out).parent / "manifests" if manifest_given else Path(d.manifests)
    write_scene_manifests(kept, scene_dir, {"pretrain": list(s.pipeline.pretrain_scenes)})
    return Validated(report, kept, manifest_out, result)
