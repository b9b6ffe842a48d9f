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
``test_label/<NNN>.npy``. Only a *test* video's label file is a test label: ``test_label/`` is numbered
by test video, so a training video's file written there overwrote a test video's labels (issue 29, 1).
Training footage is normal by contract, so a ``<name>.npy`` beside a training video is checked, never
written: all zeros, it is not needed (the video is imported, the file listed as ignored); with
anomalous frames, or unreadable, the video is quarantined naming the label file (anomalous footage
belongs under testing/). Every imported video is recorded in ``<scene>/sources.json`` with the
source path and its sha256, so importing the same file again changes nothing. An IPAD tree keeps
its scene names and video numbers; `.mat` labels are converted to `.npy`.

A bad input (corrupt frame — every frame of an IPAD tree is decoded once while it is copied —,
truncated or non-video file, empty folder, an empty or unreadable label file, a label of the wrong
length or dtype) never aborts the others: it is quarantined, with the file and the reason, in the import report
(``<out>/import_report.json`` when videos were imported; ``<out>.import_report.json`` beside the
folder when nothing was, so that a repeated import leaves the versioned dataset untouched). Each video is written to a temporary folder and renamed into place,
so a crash never leaves half a video; an existing video is never overwritten.

A full disk is not a bad input: the import stops at the first write that fails with ENOSPC, undoes
the video it was writing (the journal below), writes the report of what it imported before (if
that still fits) and raises :class:`DiskFull` naming the path it was writing, with the report
attached; the next import, once there is space, carries on.
"""

from __future__ import annotations

import errno
import hashlib
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..errors import DataError
from ..io_utils import atomic_dir, write_bytes, write_json
from .fault_points import reach
from .frames import FRAME_SUFFIXES, decode_frame_bytes
from .import_lock import import_lock
from .labels import load_labels, load_npy_labels
from .layout import (
    NORMAL_SPLITS,
    TYPE_NAMES_FILE,
    is_ipad_tree,
    label_file_name,
    period_file_name,
    read_sources,
    scan_ipad,
    scene_name_problem,
    type_names_file,
)
from .manifest import inspect_video, manifest_frame
from .video_reader import VIDEO_SUFFIXES, VideoFileSource

SPLIT_ALIASES = {
    "training": "training",
    "train": "training",
    "testing": "testing",
    "test": "testing",
    "calibration": "calibration",  # long normal footage the alert threshold is set on (docs/own-footage.md)
}
Progress = Callable[[Iterable, int, str], Iterable]
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)  # no space left / disk quota exceeded


class DiskFull(DataError):
    """The disk filled up while the import wrote `path`. Not a bad input to quarantine: every later
    write would fail too, so the import stops; `report` is what it did before (set by import_source)."""

    def __init__(self, path: str | Path, problem: str, report: ImportReport | None = None):
        super().__init__(path, problem)
        self.report = report


@contextmanager
def _writing(path: Path, what: str = "") -> Iterator[None]:
    """Turn a write's ``OSError(ENOSPC)`` — which names no file — into DiskFull naming `path`."""
    try:
        yield
    except OSError as e:
        if e.errno not in DISK_FULL_ERRNOS:
            raise
        full = "no space left on device (the disk is full)" if e.errno == errno.ENOSPC else "disk quota exceeded"
        raise DiskFull(path, f"{full} while writing{' ' + what if what else ''}") from e


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
        return {
            k: getattr(self, k) for k in ("imported", "relabelled", "unchanged", "quarantined", "ignored", "reconciled")
        }

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
        self._write("journal-written")
        try:
            yield
        except Exception:
            self.data.pop(key, None)
            try:
                self._write()
            except (OSError, DiskFull):  # the disk is full: the record stays marked, the next import undoes it
                pass
            raise

    def add(self, key: str, record: dict) -> None:
        self.data[key] = record
        self._write("recorded")

    def _write(self, point: str | None = None) -> None:
        with _writing(self.scene_dir / "sources.json"):
            write_json(self.scene_dir / "sources.json", self.data)
            if point:
                reach(point)


def reconcile(out: Path) -> list[str]:
    """Undo what interrupted imports left in data folder `out` (called under the import lock, so no
    import is running): every video whose record is still marked ``importing`` loses its frames,
    labels, types, periods and record, so the next import imports it again exactly as an
    uninterrupted one would have; temporary files and folders of interrupted writes are removed.
    Returns the keys undone (scene/split/NN)."""
    undone = []
    if not out.is_dir():
        return undone
    for tmp in out.glob(".*.tmp"):  # the import report's own atomic write
        shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
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


def _write_file(path: Path, data: bytes, point: str | None = None) -> None:
    """Atomic write of one file of the data folder; a full disk is DiskFull naming `path`."""
    with _writing(path):
        write_bytes(path, data)
        if point:
            reach(point)


def _write_labels(scene_dir: Path, video: str, labels: np.ndarray, point: str | None = None) -> Path:
    """Labels of *test* video `video` (``test_label/`` is numbered by test video only)."""
    import io

    buf = io.BytesIO()
    np.save(buf, labels.astype(np.uint8))
    path = scene_dir / "test_label" / label_file_name(video)
    _write_file(path, buf.getvalue(), point)
    return path


def _relabel(scene_dir: Path, video: str, labels: np.ndarray) -> bool:
    """Write `labels` for an imported test video if they differ from the labels it has; True if written."""
    current = scene_dir / "test_label" / label_file_name(video)
    if current.is_file():
        try:
            if np.array_equal(np.load(current), labels.astype(np.uint8)):
                return False
        except (OSError, ValueError, EOFError):  # unreadable (or empty): replaced by the corrected file
            pass
    _write_labels(scene_dir, video, labels)
    return True


def _check_training_labels(
    video: Path, label_src: Path, report: ImportReport, imported_as: str | None = None, split: str = "training"
) -> None:
    """A label file beside a *training* (or *calibration*: normal by contract too) video is not a test label: it is never written to
    ``test_label/`` (numbered by test video: it would overwrite a test video's labels). Training
    footage is normal by contract, so an all-zero file is accepted and ignored (listed in the report's
    ``ignored``), and a file that marks anomalous frames — or cannot be read, so nothing says the
    footage is normal — refuses the video: DataError naming the label file (quarantined by the
    caller; the footage with anomalies belongs under testing/, beside its labels). `imported_as`: the
    video was imported as training footage before (its frames are left as they are)."""
    labels = load_npy_labels(label_src)
    if n_anomalous := int(labels.sum()):
        if imported_as:
            raise DataError(
                label_src,
                f"marks {n_anomalous} of {labels.size} frames anomalous, but {video.name} was "
                f"imported as {imported_as}, {split} footage, which must be normal (remove "
                f"{imported_as} deliberately and import the video under testing/, or remove "
                "the label file if the footage is normal)",
            )
        raise DataError(
            label_src,
            f"marks {n_anomalous} of {labels.size} frames anomalous, but {video.name} is "
            f"{split} footage, which must be normal: not imported (move the video and its "
            "labels to testing/, or remove the label file if the footage is normal)",
        )
    report.ignored.append(
        {
            "path": str(label_src),
            "reason": f"label file beside training video {video.name}: all "
            "frames normal, as training footage is by contract; not used (labels are for test videos)",
        }
    )


def import_video_file(
    path: Path,
    out: Path,
    scene: str,
    split: str,
    jpeg_quality: int,
    report: ImportReport,
    sources: _SceneSources,
    origin: dict | None = None,
) -> None:
    sha = sha256_file(path)
    label_src = path.with_suffix(".npy")
    if (key := sources.find(sha)) is not None:
        known_split, number = key.split("/")
        if known_split != split:  # the same footage cannot be both normal training data and test data
            raise DataError(
                path,
                f"byte-identical to {scene}/{key}, already imported as {known_split} footage; "
                f"a video may be in one split only (remove the copy under {split}, or remove "
                f"{scene}/{key} deliberately first)",
            )
        if label_src.is_file() and known_split in NORMAL_SPLITS:
            _check_training_labels(path, label_src, report, f"{scene}/{key}", known_split)
        elif label_src.is_file():  # a corrected label file is new data, the frames stay as they are
            labels = load_npy_labels(label_src)
            n = sources.data[key].get("n_frames")
            if n is not None and labels.size != n:
                raise DataError(
                    label_src,
                    f"label length {labels.size} != frame count {n} of {path.name} "
                    f"(imported as {scene}/{key}); its labels are kept",
                )
            if _relabel(out / scene, number, labels):
                report.relabelled.append({"source": str(path), "labels": str(label_src), "as": f"{scene}/{key}"})
                return
        report.unchanged.append({"source": str(path), "as": f"{scene}/{key}"})
        return
    labels = None
    if label_src.is_file() and split in NORMAL_SPLITS:
        _check_training_labels(path, label_src, report, split=split)
    elif label_src.is_file():
        labels = load_npy_labels(label_src)
    elif split == "testing":
        report.ignored.append(
            {
                "path": str(path),
                "reason": "test video without a <name>.npy label file (imported; validation will flag it)",
            }
        )
    video = VideoFileSource(path)
    number = sources.next_number(split)
    target = out / scene / split / "frames" / number
    n = 0
    with (
        sources.importing(f"{split}/{number}", {"source": str(path), "sha256": sha}),
        _writing(target),
        atomic_dir(target) as tmp,
    ):
        for start, frames in video.iter_chunks():
            for i, frame in enumerate(frames):
                ok, buf = cv2.imencode(
                    ".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]
                )
                if not ok:
                    raise DataError(path, f"cannot encode frame {start + i} as JPEG")
                with _writing(target, f"frame {start + i}.jpg"):
                    (tmp / f"{start + i}.jpg").write_bytes(buf.tobytes())
                    reach("frame-written")
                n += 1
        if labels is not None and labels.size != n:
            raise DataError(label_src, f"label length {labels.size} != frame count {n} of {path.name}")
    reach("frames-renamed")
    if labels is not None:
        _write_labels(out / scene, number, labels, "labels-written")
    record = {"source": str(path), "sha256": sha, "fps": video.fps, "n_frames": n}
    sources.add(f"{split}/{number}", record | ({"origin": origin} if origin else {}))
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
                bad.setdefault((r["scene"], r["split"], r["video"]), []).append(
                    f"{f.check}: {r['file']} [{r['detail']}]"
                )
    it = progress(entries, len(entries), "copying videos") if progress else entries
    for e in it:
        if problem := scene_name_problem(e.scene):
            report.quarantined.append({"path": str(e.frames_dir), "reason": problem})
            continue
        if (e.scene, e.split, e.video) in bad:
            report.quarantined.append(
                {"path": str(e.frames_dir), "reason": "; ".join(bad[(e.scene, e.split, e.video)])}
            )
            continue
        try:
            with _writing(out / e.scene / e.split, f"the files of {e.key}"):
                _copy_ipad_video(e, out, report)
        except DiskFull:
            raise
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
                report.relabelled.append(
                    {"source": str(e.frames_dir), "labels": str(e.label_path), "as": f"{e.scene}/{key}"}
                )
                return
            report.unchanged.append({"source": str(e.frames_dir), "as": f"{e.scene}/{key}"})
            return
        raise DataError(
            target,
            "already exists with different content; refusing to overwrite "
            "(import into a new folder, or remove it deliberately)",
        )
    with (
        sources.importing(key, {"source": str(e.frames_dir), "sha256": fingerprint}),
        _writing(target),
        atomic_dir(target) as tmp,
    ):
        for p in sorted(e.frames_dir.iterdir()):
            if p.is_file() and not p.name.startswith("."):
                data = p.read_bytes()
                if p.suffix.lower() in FRAME_SUFFIXES:  # every frame decoded once, from the bytes copied
                    _check_decodes(data, p, e)
                with _writing(target, f"frame {p.name}"):
                    (tmp / p.name).write_bytes(data)
                    shutil.copystat(p, tmp / p.name)  # as shutil.copy2 did
                    reach("frame-written")
    reach("frames-renamed")
    if e.label_path is not None:
        _write_labels(scene_dir, e.video, load_labels(e.label_path, e.video))
        _copy_types(e, scene_dir)
        reach("labels-written")
    if e.period_path is not None:
        _write_file(
            scene_dir / "periods" / period_file_name(e.split, e.video), e.period_path.read_bytes(), "periods-written"
        )
    n = sum(1 for _ in target.iterdir())
    sources.add(key, {"source": str(e.frames_dir), "sha256": fingerprint, "fps": None, "n_frames": n})
    report.imported.append({"source": str(e.frames_dir), "as": f"{e.scene}/{key}", "n_frames": n})


def _copy_types(e, scene_dir: Path) -> None:
    """Per-frame anomaly types (the generator's side file) travel with the labels, and what their codes mean."""
    types = e.frames_dir.parents[2] / "test_types" / label_file_name(e.video)
    if types.is_file():
        _write_file(scene_dir / "test_types" / label_file_name(e.video), types.read_bytes())
        names = type_names_file(e.frames_dir.parents[3], e.scene)
        if names is not None and not (scene_dir / TYPE_NAMES_FILE).is_file():
            _write_file(scene_dir / TYPE_NAMES_FILE, names.read_bytes())


def _check_decodes(data: bytes, frame: Path, e) -> None:
    """DataError naming `frame` if its bytes do not decode: the import report (and the validation
    gate's sample) would otherwise miss a frame whose JPEG markers are intact (issue 29, 4)."""
    try:
        decode_frame_bytes(data, frame)
    except DataError as err:
        raise DataError(frame, f"{err.problem}; video {e.scene}/{e.split}/{e.video} not imported") from None


def import_source(
    src: str | Path,
    out: str | Path,
    scene: str | None = None,
    split: str = "training",
    jpeg_quality: int = 95,
    min_frames: int = 16,
    progress: Progress | None = None,
    origins: Mapping[str, dict] | None = None,
) -> ImportReport:
    """Import `src` into `out`; returns the report (also written to ``out/import_report.json``).
    `origins`: what a video file is, keyed by its path as given (``str(path)``), recorded with it in
    sources.json as ``origin`` (``{"kind": ...}``; the manifest's ``origin`` column): operator feedback
    passes ``{"kind": "false_alarm", "alert": ...}`` for the footage of a marked false alarm."""
    src, out = Path(src), Path(out)
    if not src.exists():
        raise DataError(src, "source does not exist")
    if scene is not None and (problem := scene_name_problem(scene, " (--scene)")):
        raise DataError(src, problem)
    with import_lock(out, f"ipad data import {src}"):
        undone = reconcile(out)  # an interrupted import's half-written videos, imported again below
        return _import(
            src, out, scene, split, jpeg_quality, min_frames, progress, ImportReport(reconciled=undone), origins or {}
        )


def _import(
    src: Path,
    out: Path,
    scene: str | None,
    split: str,
    jpeg_quality: int,
    min_frames: int,
    progress: Progress | None,
    report: ImportReport,
    origins: Mapping[str, dict],
) -> ImportReport:
    try:
        _import_all(src, out, scene, split, jpeg_quality, min_frames, progress, report, origins)
    except DiskFull as err:
        try:
            reconcile(out)  # undo the video being written when the disk filled (removing it frees space)
        except (OSError, DataError):
            pass  # its record stays marked `importing` in sources.json: the next import undoes it
        try:
            _write_report(report, out)
            where = f"listed in {report.path}"
        except (OSError, DataError):
            report.path, where = None, "the report could not be written either"
        raise DiskFull(
            err.path,
            f"{err.problem}; the import stopped: {len(report.imported)} video(s) imported "
            f"and {len(report.relabelled)} relabelled before are kept ({where}), what was half "
            "written is undone; free space and run the same import again",
            report,
        ) from None
    _write_report(report, out)
    return report


def _write_report(report: ImportReport, out: Path) -> None:
    if report.changed:  # the report of what this data version added or corrected travels with it
        report.path = out / "import_report.json"
    else:  # nothing new: the data folder (a DVC-versioned dataset) is left byte-identical
        report.path = out.parent / f"{out.name}.import_report.json"
    with _writing(report.path):
        report.path.parent.mkdir(parents=True, exist_ok=True)
        write_json(report.path, report.as_dict())


def _import_all(
    src: Path,
    out: Path,
    scene: str | None,
    split: str,
    jpeg_quality: int,
    min_frames: int,
    progress: Progress | None,
    report: ImportReport,
    origins: Mapping[str, dict],
) -> None:
    if src.is_dir() and is_ipad_tree(src):
        _import_ipad_tree(src, out, min_frames, report, progress)
    else:
        videos, report.ignored = _collect_videos(src, scene, split)
        if not videos:
            raise DataError(
                src,
                "no video files or IPAD scenes found "
                f"(videos: {', '.join(VIDEO_SUFFIXES)}; IPAD: <scene>/training/frames/<NN>/)",
            )
        it: Iterable = progress(videos, len(videos), "importing videos") if progress else videos
        per_scene: dict[str, _SceneSources] = {}
        for path, sc, sp in it:
            if problem := scene_name_problem(sc):  # checked here, not first at `ipad data scenes` after the import
                report.quarantined.append({"path": str(path), "reason": problem})
                continue
            sources = per_scene.setdefault(sc, _SceneSources(out / sc))
            try:
                with _writing(out / sc / sp, f"the files of {path.name}"):
                    import_video_file(path, out, sc, sp, jpeg_quality, report, sources, origins.get(str(path)))
            except DiskFull:
                raise
            except DataError as err:
                report.quarantined.append({"path": err.path, "reason": err.problem})
