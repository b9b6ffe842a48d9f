"""The manifest: one row per video with the facts every later stage and the validation gate read.

Columns (DESIGN §3, plus what validation needs to name the offending file):

=============== ============================================================================
scene, split    e.g. R01, testing
video           the video folder name ('01')
n_frames        frames in the folder
height, width   frame size (from the first frame; -1 if unreadable)
fps             from sources.json / period annotation; NaN when unknown
label_path      label file (.npy or the scene's .mat) or '' for training videos
n_labels        label length; -1 when the video has no labels
n_anomalous     frames labelled 1 (0 when no labels)
labels_binary   labels loaded and are 0/1 (True when there are none)
label_error     why labels could not be loaded ('' if fine)
n_gaps          frame numbers missing between 0 and the last frame
gap_example     first missing frame number (-1 if none)
n_unreadable    frames failing the structural check or a sample decode
unreadable_example  first unreadable frame file ('' if none)
n_sizes         distinct frame sizes among the decoded sample frames
frames_dir      the frame folder
period_path     the period annotation ('' if none)
source          where the video came from (original file for imported footage)
=============== ============================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from .frames import decode_frame, list_frame_files, missing_indices, structural_problem
from .labels import load_labels
from .layout import VideoEntry, read_sources, scan_ipad
from .periods import read_period_file

MANIFEST_COLUMNS = [
    "scene",
    "split",
    "video",
    "n_frames",
    "height",
    "width",
    "fps",
    "label_path",
    "n_labels",
    "n_anomalous",
    "labels_binary",
    "label_error",
    "n_gaps",
    "gap_example",
    "n_unreadable",
    "unreadable_example",
    "n_sizes",
    "frames_dir",
    "period_path",
    "source",
    "origin",  # sources.json's origin kind: "" (footage), "false_alarm" / "confirmed" (operator feedback)
    "origin_frames",  # operator feedback: the marked alert's frames in the video, "first-last" ("": all of it)
]
FALSE_ALARM_ORIGIN = "false_alarm"  # the origin of a training recording made from an alert marked a false alarm


def inspect_video(entry: VideoEntry, sample_decode: int = 3, sources: dict | None = None) -> dict:
    """Facts of one video. Never raises for bad data: problems are recorded in the row."""
    row: dict = {
        "scene": entry.scene,
        "split": entry.split,
        "video": entry.video,
        "n_frames": 0,
        "height": -1,
        "width": -1,
        "fps": float("nan"),
        "label_path": str(entry.label_path or ""),
        "n_labels": -1,
        "n_anomalous": 0,
        "labels_binary": True,
        "label_error": "",
        "n_gaps": 0,
        "gap_example": -1,
        "n_unreadable": 0,
        "unreadable_example": "",
        "n_sizes": 0,
        "frames_dir": str(entry.frames_dir),
        "period_path": str(entry.period_path or ""),
        "source": str(entry.frames_dir),
        "origin": "",
        "origin_frames": "",
    }
    src = (sources or {}).get(f"{entry.split}/{entry.video}")
    if src:
        row["source"] = src.get("source", row["source"])
        row["fps"] = float(src.get("fps") or "nan")
        row["origin"] = str((src.get("origin") or {}).get("kind", ""))
        frames = (src.get("origin") or {}).get("frames")
        row["origin_frames"] = f"{int(frames[0])}-{int(frames[1])}" if frames else ""
    try:
        files = list_frame_files(entry.frames_dir)
    except DataError as e:
        row["n_unreadable"] = 1
        row["unreadable_example"] = str(e)
        return row
    row["n_frames"] = len(files)
    gaps = missing_indices(files)
    row["n_gaps"] = len(gaps)
    row["gap_example"] = gaps[0] if gaps else -1

    bad = [(p, prob) for p in files if (prob := structural_problem(p))]
    # full decode of a few frames spread over the video: catches what markers cannot
    sample_idx = sorted(set(np.linspace(0, len(files) - 1, max(1, sample_decode)).round().astype(int).tolist()))
    sizes = set()
    for i in sample_idx:
        if any(files[i] == b for b, _ in bad):
            continue
        try:
            sizes.add(decode_frame(files[i]).shape[:2])
        except DataError as e:
            bad.append((files[i], e.problem))
    if bad:
        row["n_unreadable"] = len(bad)
        row["unreadable_example"] = f"{bad[0][0]}: {bad[0][1]}"
    row["n_sizes"] = len(sizes)
    if sizes:
        row["height"], row["width"] = sorted(sizes)[0]

    if entry.period_path is not None and np.isnan(row["fps"]):
        try:
            row["fps"] = float(read_period_file(entry.period_path).get("fps") or "nan")
        except DataError:
            pass  # the period stage validates annotations; the manifest only borrows fps

    if entry.label_path is not None:
        try:
            labels = load_labels(entry.label_path, entry.video)
            row["n_labels"] = int(labels.size)
            row["n_anomalous"] = int(labels.sum())
        except DataError as e:
            row["labels_binary"] = False
            row["label_error"] = str(e)
    return row


def build_manifest(
    root: str | Path,
    scenes: list[str] | None = None,
    sample_decode: int = 3,
    progress: Callable[[Iterable, int, str], Iterable] | None = None,
) -> pd.DataFrame:
    """Scan an IPAD tree and inspect every video. `progress(iterable, total, description)` wraps
    the loop (the CLI passes a rich progress bar)."""
    entries = scan_ipad(root, scenes)
    sources = {s: read_sources(Path(root) / s) for s in {e.scene for e in entries}}
    it: Iterable = entries
    if progress is not None:
        it = progress(entries, len(entries), "inspecting videos")
    rows = [inspect_video(e, sample_decode, sources[e.scene]) for e in it]
    return manifest_frame(rows)


def manifest_frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    int_cols = [
        "n_frames",
        "height",
        "width",
        "n_labels",
        "n_anomalous",
        "n_gaps",
        "gap_example",
        "n_unreadable",
        "n_sizes",
    ]
    df[int_cols] = df[int_cols].astype("int64")
    df["fps"] = df["fps"].astype("float64")
    df["labels_binary"] = df["labels_binary"].astype(bool)
    return df


def scene_rows(manifest: pd.DataFrame, scene: str, split: str) -> pd.DataFrame:
    """The manifest's recordings of `scene` in `split` (training, testing or calibration), in their order."""
    return manifest[(manifest.scene == scene) & (manifest.split == split)]


def scene_summary(manifest: pd.DataFrame) -> pd.DataFrame:
    """One row per scene: what the scene-level checks need."""
    rows = []
    for scene, g in manifest.groupby("scene", sort=True):
        test = g[g.split == "testing"]
        labelled = test[test.n_labels >= 0]
        sizes = {(h, w) for h, w in zip(g.height, g.width) if h > 0}
        rows.append(
            {
                "scene": scene,
                "n_train_videos": int((g.split == "training").sum()),
                "n_test_videos": int(len(test)),
                "n_test_frames_labelled": int(labelled.n_labels.clip(lower=0).sum()),
                "n_test_anomalous": int(labelled.n_anomalous.sum()),
                "n_test_normal": int((labelled.n_labels - labelled.n_anomalous).clip(lower=0).sum()),
                "n_sizes": len(sizes),
                "sizes": ", ".join(f"{h}x{w}" for h, w in sorted(sizes)),
            }
        )
    return pd.DataFrame(rows)


def write_scene_manifests(
    manifest: pd.DataFrame, out_dir: str | Path, groups: dict[str, list[str]] | None = None
) -> None:
    """One manifest file per scene, so that a scene's stages depend on their own rows only: an
    unchanged scene rewrites identical bytes and DVC reruns nothing for it. Each of `groups` (name ->
    scenes, e.g. the pretrain scenes) also gets ``_<name>.parquet`` with its scenes' rows, for stages
    that read a group at once (no scene name starts with "_"). Files no longer wanted are removed."""
    from ..io_utils import write_dataframe

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = set(manifest.scene)
    for scene, g in manifest.groupby("scene", sort=True):
        write_dataframe(out_dir / f"{scene}.parquet", g.reset_index(drop=True))
    for name, scenes in (groups or {}).items():
        rows = manifest[manifest.scene.isin(list(scenes))].sort_values(["scene", "split", "video"])
        write_dataframe(out_dir / f"_{name}.parquet", rows.reset_index(drop=True))
        wanted.add(f"_{name}")
    for p in out_dir.glob("*.parquet"):
        if p.stem not in wanted:
            p.unlink()
