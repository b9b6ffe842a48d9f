"""The data validation gate, as great-expectations 1.x suites over the manifest.

Two suites: `videos` runs over the manifest (one row per video), `scenes` over the per-scene
summary (`manifest.scene_summary`). Each expectation carries a check name and says which manifest
column names the offending file, so a failure reads "label length != frame count:
data/ipad/R02/test_label/003.npy (n_frames=812, n_labels=790)", not just "1 unexpected value".

Policy (`validation.on_failure`): ``fail`` stops the pipeline; ``exclude`` drops the offending
videos (or, for a scene-level failure, the whole scene), lists them, and passes the rest on.
Nothing is ever truncated to make a check pass.

Besides the suites, one check of the data folder itself (``import_complete``, level ``folder``, listed first): an
import killed half-way leaves its journal entry (``importing: true`` in ``<scene>/sources.json``)
and hidden ``.*.tmp`` files or folders; the manifest cannot see either (half a video is not in the
layout yet), so the gate would pass and ``dvc add`` version partial data (issue 29, 3). It fails
under either policy, naming the video or temporary path, until the import is run again (which
completes it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import ConfigError, ValidationFailed
from ..io_utils import write_json, write_text
from .layout import read_sources
from .manifest import scene_summary

ID_COLUMNS = ["scene", "split", "video"]


@dataclass(frozen=True)
class Check:
    name: str
    level: str  # "video" or "scene"
    description: str
    expectation: str  # great_expectations.expectations class name
    kwargs: dict
    file_column: str  # manifest column that names the file to blame (video level)
    detail_columns: tuple[str, ...] = ()


def checks(min_frames: int) -> list[Check]:
    testing = {"row_condition": 'split == "testing"', "condition_parser": "pandas"}
    training = {"row_condition": 'split == "training"', "condition_parser": "pandas"}
    # labels that failed to load are reported once, by labels_loadable_and_binary
    labelled = {"row_condition": 'split == "testing" and n_labels >= 0', "condition_parser": "pandas"}
    return [
        Check(
            "frames_readable",
            "video",
            "every frame file is a complete, decodable image",
            "ExpectColumnValuesToBeInSet",
            {"column": "n_unreadable", "value_set": [0]},
            "unreadable_example",
            ("n_unreadable",),
        ),
        Check(
            "no_numbering_gaps",
            "video",
            "frames are numbered 0..n-1 without gaps",
            "ExpectColumnValuesToBeInSet",
            {"column": "n_gaps", "value_set": [0]},
            "frames_dir",
            ("n_gaps", "gap_example"),
        ),
        Check(
            "frame_size_consistent_in_video",
            "video",
            "sampled frames of a video share one size",
            "ExpectColumnValuesToBeInSet",
            {"column": "n_sizes", "value_set": [1]},
            "frames_dir",
            ("n_sizes",),
        ),
        Check(
            "enough_frames_for_a_clip",
            "video",
            f"a video has at least one clip ({min_frames} frames)",
            "ExpectColumnValuesToBeBetween",
            {"column": "n_frames", "min_value": min_frames},
            "frames_dir",
            ("n_frames",),
        ),
        Check(
            "labels_loadable_and_binary",
            "video",
            "label files load and hold only 0/1",
            "ExpectColumnValuesToBeInSet",
            {"column": "labels_binary", "value_set": [True]},
            "label_path",
            ("label_error",),
        ),
        Check(
            "test_videos_have_labels",
            "video",
            "every test video has a label file",
            "ExpectColumnValuesToNotBeInSet",
            {"column": "label_path", "value_set": [""], **testing},
            "frames_dir",
            (),
        ),
        Check(
            "label_length_equals_frame_count",
            "video",
            "label length equals the frame count",
            "ExpectColumnPairValuesToBeEqual",
            {"column_A": "n_frames", "column_B": "n_labels", **labelled},
            "label_path",
            ("n_frames", "n_labels"),
        ),
        Check(
            "training_has_no_anomalies",
            "video",
            "training videos contain no anomalous frames",
            "ExpectColumnValuesToBeInSet",
            {"column": "n_anomalous", "value_set": [0], **training},
            "label_path",
            ("n_anomalous",),
        ),
        Check(
            "scene_has_training_videos",
            "scene",
            "every scene has normal training footage",
            "ExpectColumnValuesToBeBetween",
            {"column": "n_train_videos", "min_value": 1},
            "scene",
            ("n_train_videos",),
        ),
        Check(
            "test_scene_has_anomalous_frames",
            "scene",
            "every test scene has anomalous frames",
            "ExpectColumnValuesToBeBetween",
            {
                "column": "n_test_anomalous",
                "min_value": 1,
                "row_condition": "n_test_videos > 0",
                "condition_parser": "pandas",
            },
            "scene",
            ("n_test_anomalous",),
        ),
        Check(
            "test_scene_has_normal_frames",
            "scene",
            "every test scene has normal frames",
            "ExpectColumnValuesToBeBetween",
            {
                "column": "n_test_normal",
                "min_value": 1,
                "row_condition": "n_test_videos > 0",
                "condition_parser": "pandas",
            },
            "scene",
            ("n_test_normal",),
        ),
        Check(
            "frame_size_consistent_in_scene",
            "scene",
            "all videos of a scene share one frame size",
            "ExpectColumnValuesToBeInSet",
            {"column": "n_sizes", "value_set": [1]},
            "scene",
            ("sizes",),
        ),
    ]


@dataclass
class Failure:
    check: str
    level: str
    description: str
    rows: list[dict]  # {scene, split, video, file, detail}


IMPORT_COMPLETE = "import_complete"


def import_interrupted(root: str | Path) -> Failure | None:
    """The ``import_complete`` failure of data folder `root` (None when no import was interrupted):
    one row per video whose ``sources.json`` record is still marked ``importing`` and per temporary
    ``.*.tmp`` file or folder an interrupted atomic write left."""
    root = Path(root)
    rows: list[dict] = []
    if not root.is_dir():
        return None
    scene_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    for scene_dir in scene_dirs:
        for key, rec in read_sources(scene_dir).items():
            if isinstance(rec, dict) and rec.get("importing"):
                split, _, video = key.partition("/")
                rows.append(
                    {
                        "scene": scene_dir.name,
                        "split": split,
                        "video": video,
                        "file": str(scene_dir / "sources.json"),
                        "detail": f"importing: true - the import of {rec.get('source', '?')} was interrupted",
                    }
                )
    for tmp in sorted(root.rglob(".*.tmp")):
        parts = tmp.relative_to(root).parts
        rows.append(
            {
                "scene": parts[0] if len(parts) > 1 else "",
                "split": "",
                "video": "",
                "file": str(tmp),
                "detail": f"temporary {'folder' if tmp.is_dir() else 'file'} of an interrupted write",
            }
        )
    if not rows:
        return None
    return Failure(
        IMPORT_COMPLETE,
        "folder",
        "no import into the data folder was interrupted half-way: run the same `ipad data import` "
        "again (it completes the interrupted one) before validating or `dvc add`",
        rows,
    )


@dataclass
class ValidationReport:
    success: bool
    failures: list[Failure]
    gx_results: dict  # suite name -> GX validation result as a JSON dict
    n_videos: int
    n_scenes: int
    excluded: list[dict] = field(default_factory=list)

    def summary(self) -> str:
        if self.success:
            return f"all checks passed ({self.n_videos} videos, {self.n_scenes} scenes)"
        lines = []
        for f in self.failures:
            unit = "leftover" if f.level == "folder" else f.level  # a video or a temporary path
            lines.append(f"FAILED {f.check} ({f.description}): {len(f.rows)} {unit}(s)")
            for r in f.rows[:20]:
                if f.level == "folder":  # a video of an interrupted import, or a temporary path
                    where = "/".join(x for x in (r["scene"], r["split"], r["video"]) if x) or "data folder"
                else:
                    where = r["scene"] if f.level == "scene" else f"{r['scene']}/{r['split']}/{r['video']}"
                lines.append(f"  - {where}: {r['file']}  [{r['detail']}]")
            if len(f.rows) > 20:
                lines.append(f"  ... and {len(f.rows) - 20} more (see the JSON result)")
        return "\n".join(lines)

    def offending_keys(self) -> tuple[set[tuple[str, str, str]], set[str]]:
        videos, scenes = set(), set()
        for f in self.failures:
            for r in f.rows:
                if f.level == "scene":
                    scenes.add(r["scene"])
                else:
                    videos.add((r["scene"], r["split"], r["video"]))
        return videos, scenes


def _run_suite(context, name: str, df: pd.DataFrame, suite_checks: list[Check], id_columns: list[str]):
    import great_expectations as gx
    import great_expectations.expectations as gxe

    asset = context.data_sources.add_pandas(f"ipad_{name}").add_dataframe_asset(name)
    batch_def = asset.add_batch_definition_whole_dataframe("all")
    suite = context.suites.add(gx.ExpectationSuite(name=f"ipad_{name}"))
    for c in suite_checks:
        suite.add_expectation(getattr(gxe, c.expectation)(**c.kwargs, meta={"check": c.name}))
    vd = context.validation_definitions.add(gx.ValidationDefinition(name=f"ipad_{name}", data=batch_def, suite=suite))
    return vd.run(
        batch_parameters={"dataframe": df},
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": id_columns},
    )


def validate_manifest(manifest: pd.DataFrame, min_frames: int = 16) -> ValidationReport:
    """Run both suites and collect the failures with the files they concern."""
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)  # our CLI shows its own
    all_checks = checks(min_frames)
    by_name = {c.name: c for c in all_checks}
    videos = manifest.reset_index(drop=True)
    scenes = scene_summary(videos)
    results = {
        "videos": _run_suite(context, "videos", videos, [c for c in all_checks if c.level == "video"], ID_COLUMNS),
        "scenes": _run_suite(context, "scenes", scenes, [c for c in all_checks if c.level == "scene"], ["scene"]),
    }
    failures: list[Failure] = []
    for suite_name, res in results.items():
        table = videos if suite_name == "videos" else scenes
        for r in res.results:
            if r.success:
                continue
            check = by_name[r.expectation_config.meta["check"]]
            idx = r.result.get("unexpected_index_list") or []
            rows = []
            for item in idx:
                # with unexpected_index_column_names GX returns dicts of the id columns
                key = item if isinstance(item, dict) else {"scene": table.loc[item, "scene"]}
                sel = table
                for k, v in key.items():
                    if k in table.columns:
                        sel = sel[sel[k] == v]
                rec = sel.iloc[0]
                rows.append(
                    {
                        "scene": rec["scene"],
                        "split": rec.get("split", ""),
                        "video": rec.get("video", ""),
                        "file": str(rec[check.file_column]) if check.level == "video" else str(rec["scene"]),
                        "detail": ", ".join(f"{c}={rec[c]}" for c in check.detail_columns),
                    }
                )
            if not rows and r.exception_info and r.exception_info.get("raised_exception"):
                rows.append(
                    {
                        "scene": "",
                        "split": "",
                        "video": "",
                        "file": "(check could not run)",
                        "detail": r.exception_info.get("exception_message", ""),
                    }
                )
            failures.append(Failure(check.name, check.level, check.description, rows))
    return ValidationReport(
        success=not failures,
        failures=failures,
        gx_results={k: v.to_json_dict() for k, v in results.items()},
        n_videos=len(videos),
        n_scenes=len(scenes),
    )


def apply_policy(manifest: pd.DataFrame, report: ValidationReport, on_failure: str) -> pd.DataFrame:
    """`fail`: raise ValidationFailed on any failure. `exclude`: drop offending videos/scenes,
    record them in `report.excluded`, and return the rest."""
    if on_failure not in ("fail", "exclude"):
        raise ConfigError(f"validation.on_failure must be 'fail' or 'exclude', got {on_failure!r}")
    if report.success:
        return manifest
    if on_failure == "fail" or any(f.level == "folder" for f in report.failures):  # nothing to exclude it by
        raise ValidationFailed(report.summary())
    bad_videos, bad_scenes = report.offending_keys()
    keys = list(zip(manifest.scene, manifest.split, manifest.video))
    drop = [k in bad_videos or k[0] in bad_scenes for k in keys]
    report.excluded = [
        {
            "scene": s,
            "split": sp,
            "video": v,
            "reason": "scene failed a scene-level check"
            if s in bad_scenes
            else "; ".join(
                f.check for f in report.failures for r in f.rows if (r["scene"], r["split"], r["video"]) == (s, sp, v)
            ),
        }
        for (s, sp, v), d in zip(keys, drop)
        if d
    ]
    kept = manifest[[not d for d in drop]].reset_index(drop=True)
    if kept.empty:
        raise ValidationFailed(report.summary() + "\n(no video left after excluding the offending ones)")
    return kept


def write_report(report: ValidationReport, out_dir: str | Path) -> Path:
    """Write result.json (full GX results), summary.md; return the JSON path."""
    out_dir = Path(out_dir)
    result_path = out_dir / "result.json"
    write_json(
        result_path,
        {
            "success": report.success,
            "n_videos": report.n_videos,
            "n_scenes": report.n_scenes,
            "failures": [f.__dict__ for f in report.failures],
            "excluded": report.excluded,
            "great_expectations": report.gx_results,
        },
    )
    md = [
        "# Data validation",
        "",
        f"**{'PASSED' if report.success else 'FAILED'}** — {report.n_videos} videos, {report.n_scenes} scenes",
        "",
    ]
    if not report.success:
        md += ["```", report.summary(), "```", ""]
    if report.excluded:
        md += ["## Excluded", "", "| scene | split | video | reason |", "|---|---|---|---|"]
        md += [f"| {e['scene']} | {e['split']} | {e['video']} | {e['reason']} |" for e in report.excluded]
    write_text(out_dir / "summary.md", "\n".join(md) + "\n")
    write_json(
        out_dir / "metrics.json",
        {  # small, for `dvc metrics show`
            "passed": int(report.success),
            "n_videos": report.n_videos,
            "n_scenes": report.n_scenes,
            "n_failed_checks": len(report.failures),
            "n_excluded_videos": len(report.excluded),
        },
    )
    return result_path
