"""`ipad data import SRC`: turn an IPAD tree or a folder of video files into the project's data
folder (the IPAD layout, versioned by DVC).

Naming rules for video files (mp4/avi/mkv/mov/m4v/webm), by their place under SRC:

==================================  ===========================================================
``SRC/<scene>/<split>/<name>.mp4``  scene and split from the folders (split: training|testing,
                                    also train|test)
``SRC/<scene>/<name>.mp4``          scene from the folder, split from ``--split``
``SRC/<split>/<name>.mp4``          with ``--scene``: split from the folder (a device's landing)
``SRC/<name>.mp4`` or SRC a file    scene from ``--scene`` (required), split from ``--split``
==================================  ===========================================================

Videos of a scene/split get the next free number (01, 02, ...) in file-name order; labels for a test
video are read from ``<name>.npy`` beside it (one 0/1 value per frame) and written as
``test_label/<NNN>.npy``. Every imported video is recorded in ``<scene>/sources.json`` with the
source path and its sha256, so importing the same file again changes nothing. An IPAD tree keeps
its scene names and video numbers; `.mat` labels are converted to `.npy`.

A bad input (corrupt frame, truncated or non-video file, empty folder, label of the wrong length or
dtype) never aborts the others: it is quarantined, with the file and the reason, in the import report
(``<out>/import_report.json`` when videos were imported; ``<out>.import_report.json`` beside the
folder when nothing was, so that a repeated import leaves the versioned dataset untouched). Each video is written to a temporary folder and renamed into place,
so a crash never leaves half a video; an existing video is never overwritten.
"""

from __future__ import annotations

import hashlib
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import cv2
import numpy as np

from ..errors import DataError
from ..io_utils import atomic_dir, write_bytes, write_json
from .fault_points import reach
from .import_lock import import_lock
from .labels import load_labels, load_npy_labels
from .layout import (TYPE_NAMES_FILE, is_ipad_tree, label_file_name, period_file_name, read_sources, scan_ipad,
                     scene_name_problem, type_names_file)
from .manifest import inspect_video, manifest_frame
from .video_reader import VIDEO_SUFFIXES, VideoFileSource

SPLIT_ALIASES = {"training": "training", "train": "training", "testing": "testing", "test": "testing"}
Progress = Callable[[Iterable, int, str], Iterable]


@dataclass
class ImportReport:
    imported: list[dict] = field(default_factory=list)
    relabelled: list[dict] = field(default_factory=list)  # frames unchanged, corrected labels: new data too
    unchanged: list[dict] = field(default_factory=list)
    quarantined: list[dict] = field(default_factory=list)
    ignored: list[dict] = field(default_factory=list)
    path: Path | None = None  # where the report was written
    reconciled: list[str] = field(default_factory=list)  # videos an interrupted import left half-written, undone

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("imported", "relabelled", "unchanged", "quarantined", "ignored",
                                              "reconciled")}

    @property
    def changed(self) -> bool:
        """Whether this import made a new version of the data (new videos or corrected labels)."""
        return bool(self.imported or self.relabelled)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_folder(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.iterdir()):
        if p.is_file():
            h.update(p.name.encode())
            h.update(sha256_file(p).encode())
    return h.hexdigest()


class _SceneSources:
    """sources.json of one output scene, written atomically after every change. It is also the
    import's journal: a video's record is written with ``importing: true`` *before* its frames are
    renamed into place and rewritten without it once everything of the video is written; a record
    still marked at the next import is an interrupted one (``reconcile``)."""

    def __init__(self, scene_dir: Path):
        self.scene_dir = scene_dir
        self.data = read_sources(scene_dir)

    def find(self, sha: str) -> str | None:
        return next((k for k, v in self.data.items() if v.get("sha256") == sha), None)

    def next_number(self, split: str) -> str:
        used = {int(k.split("/")[1]) for k in self.data if k.startswith(split + "/")}
        frames = self.scene_dir / split / "frames"
        if frames.is_dir():
            used |= {int(p.name) for p in frames.iterdir() if p.name.isdigit()}
        return f"{max(used, default=0) + 1:02d}"

    @contextmanager
    def importing(self, key: str, record: dict) -> Iterator[None]:
        """Journal the intent to import `key` before anything of it is written; if the block fails
        cleanly (a bad video, quarantined by the caller: nothing of it was kept) drop the record again."""
        self.data[key] = {**record, "importing": True}
        write_json(self.scene_dir / "sources.json", self.data)
        reach("journal-written")
        try:
            yield
        except Exception:
            self.data.pop(key, None)
            write_json(self.scene_dir / "sources.json", self.data)
            raise

    def add(self, key: str, record: dict) -> None:
        self.data[key] = record
        write_json(self.scene_dir / "sources.json", self.data)
        reach("recorded")


def reconcile(out: Path) -> list[str]:
    """Undo what interrupted imports left in data folder `out` (called under the import lock, so no
    import is running): every video whose record is still marked ``importing`` loses its frames,
    labels, types, periods and record, so the next import imports it again exactly as an
    uninterrupted one would have; temporary files and folders of interrupted writes are removed.
    Returns the keys undone (scene/split/NN)."""
    undone = []
    if not out.is_dir():
        return undone
    for scene_dir in sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for tmp in sorted(scene_dir.rglob(".*.tmp"), reverse=True):  # atomic_path / atomic_dir leftovers
            shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
        if not (scene_dir / "sources.json").is_file():
            continue
        sources = _SceneSources(scene_dir)
        marked = [k for k, v in sources.data.items() if v.get("importing")]
        for key in marked:
            split, video = key.split("/")
            shutil.rmtree(scene_dir / split / "frames" / video, ignore_errors=True)
            if split == "testing":
                for folder in ("test_label", "test_types"):
                    (scene_dir / folder / label_file_name(video)).unlink(missing_ok=True)
            (scene_dir / "periods" / period_file_name(split, video)).unlink(missing_ok=True)
            del sources.data[key]
            undone.append(f"{scene_dir.name}/{key}")
        if marked:
            write_json(scene_dir / "sources.json", sources.data)
    return undone


def _write_labels(scene_dir: Path, video: str, labels: np.ndarray) -> Path:
    import io

    buf = io.BytesIO()
    np.save(buf, labels.astype(np.uint8))
    path = scene_dir / "test_label" / label_file_name(video)
    write_bytes(path, buf.getvalue())
    return path


def _relabel(scene_dir: Path, video: str, labels: np.ndarray) -> bool:
    """Write `labels` for an imported video if they differ from the labels it has; True if written."""
    current = scene_dir / "test_label" / label_file_name(video)
    if current.is_file():
        try:
            if np.array_equal(np.load(current), labels.astype(np.uint8)):
                return False
        except (OSError, ValueError):  # unreadable: replaced by the corrected file
            pass
    _write_labels(scene_dir, video, labels)
    return True


def import_video_file(path: Path, out: Path, scene: str, split: str, jpeg_quality: int,
                      report: ImportReport, sources: _SceneSources) -> None:
    sha = sha256_file(path)
    label_src = path.with_suffix(".npy")
    if (key := sources.find(sha)) is not None:
        known_split, number = key.split("/")
        if known_split != split:  # the same footage cannot be both normal training data and test data
            raise DataError(path, f"byte-identical to {scene}/{key}, already imported as {known_split} footage; "
                                  f"a video may be in one split only (remove the copy under {split}, or remove "
                                  f"{scene}/{key} deliberately first)")
        if label_src.is_file():  # a corrected label file is new data, the frames stay as they are
            labels = load_npy_labels(label_src)
            n = sources.data[key].get("n_frames")
            if n is not None and labels.size != n:
                raise DataError(label_src, f"label length {labels.size} != frame count {n} of {path.name} "
                                           f"(imported as {scene}/{key}); its labels are kept")
            if _relabel(out / scene, number, labels):
                report.relabelled.append({"source": str(path), "labels": str(label_src), "as": f"{scene}/{key}"})
                return
        report.unchanged.append({"source": str(path), "as": f"{scene}/{key}"})
        return
    labels = None
    if label_src.is_file():
        labels = load_npy_labels(label_src)
    elif split == "testing":
        report.ignored.append({"path": str(path), "reason": "test video without a <name>.npy label file "
                               "(imported; validation will flag it)"})
    video = VideoFileSource(path)
    number = sources.next_number(split)
    target = out / scene / split / "frames" / number
    n = 0
    with sources.importing(f"{split}/{number}", {"source": str(path), "sha256": sha}), atomic_dir(target) as tmp:
        for start, frames in video.iter_chunks():
            for i, frame in enumerate(frames):
                ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                                       [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
                if not ok:
                    raise DataError(path, f"cannot encode frame {start + i} as JPEG")
                (tmp / f"{start + i}.jpg").write_bytes(buf.tobytes())
                n += 1
                reach("frame-written")
        if labels is not None and labels.size != n:
            raise DataError(label_src, f"label length {labels.size} != frame count {n} of {path.name}")
    reach("frames-renamed")
    if labels is not None:
        _write_labels(out / scene, number, labels)
        reach("labels-written")
    sources.add(f"{split}/{number}", {"source": str(path), "sha256": sha, "fps": video.fps, "n_frames": n})
    report.imported.append({"source": str(path), "as": f"{scene}/{split}/{number}", "n_frames": n})


def _collect_videos(src: Path, scene: str | None, split: str) -> tuple[list[tuple[Path, str, str]], list[dict]]:
    """(file, scene, split) for every video under src, by the naming rules; plus ignored files."""
    if split not in SPLIT_ALIASES:
        raise DataError(src, f"unknown split {split!r} (use training or testing)")
    split = SPLIT_ALIASES[split]
    files = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file() and not p.name.startswith("."))
    found, ignored = [], []
    for f in files:
        if f.suffix.lower() not in VIDEO_SUFFIXES:
            if f.suffix.lower() not in (".npy", ".json"):
                ignored.append({"path": str(f), "reason": f"not a video file extension ({', '.join(VIDEO_SUFFIXES)})"})
            continue
        parts = f.relative_to(src).parts[:-1] if src.is_dir() else ()
        if scene and len(parts) == 1 and parts[0].lower() in SPLIT_ALIASES:
            found.append((f, scene, SPLIT_ALIASES[parts[0].lower()]))  # --scene given: SRC/<split>/<file>
        elif len(parts) == 0:
            if not scene:
                raise DataError(f, "cannot tell the scene: put videos in <scene>/ folders or pass --scene")
            found.append((f, scene, split))
        elif len(parts) == 1:
            found.append((f, parts[0], split))
        elif len(parts) == 2 and parts[1].lower() in SPLIT_ALIASES:
            found.append((f, parts[0], SPLIT_ALIASES[parts[1].lower()]))
        else:
            ignored.append({"path": str(f), "reason": "not at <scene>/<split>/<file> (see the naming rules)"})
    return found, ignored


def _import_ipad_tree(src: Path, out: Path, min_frames: int, report: ImportReport, progress: Progress | None) -> None:
    from .validation import validate_manifest

    entries = scan_ipad(src)
    it: Iterable = progress(entries, len(entries), "checking videos") if progress else entries
    rows = [inspect_video(e, sample_decode=3) for e in it]
    manifest = manifest_frame(rows)
    # the same video-level checks as the validation gate decide what is quarantined
    val = validate_manifest(manifest, min_frames=min_frames)
    bad = {}
    for f in val.failures:
        if f.level == "video":
            for r in f.rows:
                bad.setdefault((r["scene"], r["split"], r["video"]), []).append(f"{f.check}: {r['file']} [{r['detail']}]")
    it = progress(entries, len(entries), "copying videos") if progress else entries
    for e in it:
        if problem := scene_name_problem(e.scene):
            report.quarantined.append({"path": str(e.frames_dir), "reason": problem})
            continue
        if (e.scene, e.split, e.video) in bad:
            report.quarantined.append({"path": str(e.frames_dir), "reason": "; ".join(bad[(e.scene, e.split, e.video)])})
            continue
        try:
            _copy_ipad_video(e, out, report)
        except DataError as err:
            report.quarantined.append({"path": err.path, "reason": err.problem})


def _copy_ipad_video(e, out: Path, report: ImportReport) -> None:
    scene_dir = out / e.scene
    target = scene_dir / e.split / "frames" / e.video
    fingerprint = sha256_folder(e.frames_dir)
    sources = _SceneSources(scene_dir)
    key = f"{e.split}/{e.video}"
    if target.exists():
        if sources.data.get(key, {}).get("sha256") == fingerprint:
            if e.label_path is not None and _relabel(scene_dir, e.video, load_labels(e.label_path, e.video)):
                _copy_types(e, scene_dir)  # corrected labels bring their per-frame types along
                report.relabelled.append({"source": str(e.frames_dir), "labels": str(e.label_path),
                                          "as": f"{e.scene}/{key}"})
                return
            report.unchanged.append({"source": str(e.frames_dir), "as": f"{e.scene}/{key}"})
            return
        raise DataError(target, "already exists with different content; refusing to overwrite "
                        "(import into a new folder, or remove it deliberately)")
    with sources.importing(key, {"source": str(e.frames_dir), "sha256": fingerprint}), atomic_dir(target) as tmp:
        for p in e.frames_dir.iterdir():
            if p.is_file() and not p.name.startswith("."):
                shutil.copy2(p, tmp / p.name)
                reach("frame-written")
    reach("frames-renamed")
    if e.label_path is not None:
        _write_labels(scene_dir, e.video, load_labels(e.label_path, e.video))
        _copy_types(e, scene_dir)
        reach("labels-written")
    if e.period_path is not None:
        write_bytes(scene_dir / "periods" / period_file_name(e.split, e.video), e.period_path.read_bytes())
        reach("periods-written")
    n = sum(1 for _ in target.iterdir())
    sources.add(key, {"source": str(e.frames_dir), "sha256": fingerprint, "fps": None, "n_frames": n})
    report.imported.append({"source": str(e.frames_dir), "as": f"{e.scene}/{key}", "n_frames": n})


def _copy_types(e, scene_dir: Path) -> None:
    """Per-frame anomaly types (the generator's side file) travel with the labels, and what their codes mean."""
    types = e.frames_dir.parents[2] / "test_types" / label_file_name(e.video)
    if types.is_file():
        write_bytes(scene_dir / "test_types" / label_file_name(e.video), types.read_bytes())
        names = type_names_file(e.frames_dir.parents[3], e.scene)
        if names is not None and not (scene_dir / TYPE_NAMES_FILE).is_file():
            write_bytes(scene_dir / TYPE_NAMES_FILE, names.read_bytes())


def import_source(src: str | Path, out: str | Path, scene: str | None = None, split: str = "training",
                  jpeg_quality: int = 95, min_frames: int = 16, progress: Progress | None = None) -> ImportReport:
    """Import `src` into `out`; returns the report (also written to ``out/import_report.json``)."""
    src, out = Path(src), Path(out)
    if not src.exists():
        raise DataError(src, "source does not exist")
    if scene is not None and (problem := scene_name_problem(scene, " (--scene)")):
        raise DataError(src, problem)
    with import_lock(out, f"ipad data import {src}"):
        undone = reconcile(out)  # an interrupted import's half-written videos, imported again below
        return _import(src, out, scene, split, jpeg_quality, min_frames, progress, ImportReport(reconciled=undone))


def _import(src: Path, out: Path, scene: str | None, split: str, jpeg_quality: int, min_frames: int,
            progress: Progress | None, report: ImportReport) -> ImportReport:
    if src.is_dir() and is_ipad_tree(src):
        _import_ipad_tree(src, out, min_frames, report, progress)
    else:
        videos, report.ignored = _collect_videos(src, scene, split)
        if not videos:
            raise DataError(src, "no video files or IPAD scenes found "
                            f"(videos: {', '.join(VIDEO_SUFFIXES)}; IPAD: <scene>/training/frames/<NN>/)")
        it: Iterable = progress(videos, len(videos), "importing videos") if progress else videos
        per_scene: dict[str, _SceneSources] = {}
        for path, sc, sp in it:
            if problem := scene_name_problem(sc):  # checked here, not first at `ipad data scenes` after the import
                report.quarantined.append({"path": str(path), "reason": problem})
                continue
            sources = per_scene.setdefault(sc, _SceneSources(out / sc))
            try:
                import_video_file(path, out, sc, sp, jpeg_quality, report, sources)
            except DataError as err:
                report.quarantined.append({"path": err.path, "reason": err.problem})
    if report.changed:  # the report of what this data version added or corrected travels with it
        report.path = out / "import_report.json"
    else:  # nothing new: the data folder (a DVC-versioned dataset) is left byte-identical
        report.path = out.parent / f"{out.name}.import_report.json"
    report.path.parent.mkdir(parents=True, exist_ok=True)
    write_json(report.path, report.as_dict())
    return report

