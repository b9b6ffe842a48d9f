"""Operator feedback on alerts (issue 26, 5): ``ipad alerts`` (``alerts_cli.py``).

The alerts are those ``ipad score`` wrote into a scores folder (``<name>.alerts.json``), each with
its id ``<name>:<k>`` (k-th alert of that footage), the footage, the device, the span, the peak and
the model version. An operator marks an alert a false alarm or confirms it; the mark is recorded in
``<scores>/alert_marks.json`` (``feedback.marks_file``, written atomically). ``export`` turns marked
footage into data through the same import as any footage (``data/importer.py``):

* a **false alarm**'s frames (its span and ``feedback.context_frames`` before and after, so that the
  clips centred on every frame of it are whole; where the caller knows the device's cycle length, at
  least ``feedback.context_cycles`` cycles more, so that the period step's crop to whole cycles keeps
  every marked frame's clip) become a new *training* recording of its device - normal footage the
  next retraining learns (the reference detector's bank then holds it). sources.json records its
  ``origin`` (``kind: false_alarm``, the alert, its footage and span, and ``frames``: the alert's own
  frames in the new recording, the rest being context; the manifest's ``origin`` and ``origin_frames``):
  the held-out calibration leaves such recordings out (``alert.heldout_skips_marked``,
  jobs/calibrate.py), as they were chosen for scoring high, and the reference detector tolerates what
  the alert's frames show at their place (``methods.knn.tolerate_marked``);
* a **confirmed** alert's frames become a *test* recording with a label file: its span anomalous,
  the context before and after normal (an approximation: the operator confirmed the alert, not
  every frame's label; relabel it with ``ipad data import`` of a corrected label file).

Each is written as a lossless video (FFV1) under ``<scores>/feedback/<batch>/<device>/<split>/`` and
imported with the import's naming rules (``<scene>/<split>/<file>``), so the import report lists it,
sources.json records it, and the next data version (``dvc add`` / ``ipad ingest``) and retraining
include it. A mark is recorded as exported with the video it became (``R01/training/05``).

Bad input changes nothing and is a one-line error naming the file and the problem: an unknown alert
id, an alert of a device without footage in the data folder, an alert whose footage is gone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.manifest import FALSE_ALARM_ORIGIN
from ..errors import DataError
from ..io_utils import write_json
from .operator_settings import FeedbackSettings

FALSE_ALARM = FALSE_ALARM_ORIGIN  # the verdict, and the origin kind of the training recording it becomes
VERDICTS = (FALSE_ALARM, "confirmed")
SPLIT_OF = {FALSE_ALARM: "training", "confirmed": "testing"}


@dataclass(frozen=True)
class AlertRecord:
    id: str  # <name>:<k>
    name: str  # the footage's name in the scores folder
    footage: str  # the scored file or folder
    device: str | None
    start: int
    end: int
    peak_frame: int
    peak_score: float
    model_version: str | None
    model_uri: str | None
    fps: float | None
    summary: str  # the <name>.alerts.json it comes from
    thumbnail: str | None = None

    @property
    def span_s(self) -> str:
        if not self.fps:
            return f"frames {self.start}-{self.end}"
        return f"{self.start / self.fps:.1f}-{(self.end + 1) / self.fps:.1f} s"


def list_alerts(scores: str | Path) -> list[AlertRecord]:
    """Every alert of every ``*.alerts.json`` in `scores`, in file then time order."""
    scores = Path(scores)
    if not scores.is_dir():
        raise DataError(scores, "no such scores folder (ipad score --out writes one)")
    out = []
    for f in sorted(scores.glob("*.alerts.json")):
        try:
            s = json.loads(f.read_text())
            name = f.name.removesuffix(".alerts.json")
            for k, a in enumerate(s.get("alerts") or [], 1):
                out.append(
                    AlertRecord(
                        a.get("alert_id") or f"{name}:{k}",
                        name,
                        s["path"],
                        s.get("device"),
                        int(a["start"]),
                        int(a["end"]),
                        int(a["peak_frame"]),
                        float(a["peak_score"]),
                        s.get("model_version"),
                        s.get("model_uri"),
                        s.get("fps"),
                        str(f),
                        (a.get("evidence") or {}).get("thumbnail"),
                    )
                )
        except (ValueError, KeyError, TypeError) as e:
            raise DataError(f, f"not an alerts summary of ipad score ({type(e).__name__}: {e})") from None
    return out


def marks_path(scores: str | Path, settings: FeedbackSettings) -> Path:
    return Path(scores) / settings.marks_file


def read_marks(scores: str | Path, settings: FeedbackSettings) -> dict:
    path = marks_path(scores, settings)
    if not path.is_file():
        return {}
    try:
        marks = json.loads(path.read_text())
    except ValueError as e:
        raise DataError(path, f"not a marks file (invalid JSON: {e}); fix or remove it") from None
    if not isinstance(marks, dict):
        raise DataError(path, "not a marks file (expected an object of alert id -> mark)")
    return marks


def find_alert(scores: str | Path, alert_id: str) -> AlertRecord:
    alerts = list_alerts(scores)
    hit = next((a for a in alerts if a.id == alert_id), None)
    if hit is None:
        known = ", ".join(a.id for a in alerts[:8]) + (" ..." if len(alerts) > 8 else "")
        raise DataError(scores, f"no alert {alert_id!r} here (ipad alerts list; known: {known or 'none'})")
    return hit


def device_footage_problem(data_root: Path, device: str | None) -> str | None:
    """Why marked footage of `device` cannot become its data, or None."""
    if not device:
        return "the alert names no device (scored with a model URI of no device): its footage has no device to go to"
    frames = data_root / device / "training" / "frames"
    if not frames.is_dir() or not any(p.is_dir() for p in frames.iterdir()):
        return (
            f"device {device} has no footage in the data folder {data_root} (no {device}/training/frames/<NN>/): "
            "import its normal footage first (ipad data import)"
        )
    return None


def mark_alert(
    scores: str | Path,
    alert_id: str,
    verdict: str,
    data_root: str | Path,
    settings: FeedbackSettings | None = None,
    note: str = "",
) -> dict:
    """Record `verdict` (false_alarm | confirmed) on alert `alert_id`; returns the mark. Checks first,
    writes last: a bad input changes nothing."""
    settings = settings or FeedbackSettings()
    if verdict not in VERDICTS:
        raise DataError(alert_id, f"unknown verdict {verdict!r}; one of {', '.join(VERDICTS)}")
    a = find_alert(scores, alert_id)
    data_root = Path(data_root)
    if (problem := device_footage_problem(data_root, a.device)) is not None:
        raise DataError(data_root / (a.device or ""), f"alert {alert_id}: {problem}")
    if not Path(a.footage).exists():
        raise DataError(
            a.footage,
            f"the footage of alert {alert_id} is gone (moved or deleted since it was scored); "
            "its frames cannot become data: restore it there, or leave the alert unmarked",
        )
    marks = read_marks(scores, settings)
    old = marks.get(alert_id)
    if old and old.get("exported") and old.get("verdict") != verdict:
        raise DataError(
            marks_path(scores, settings),
            f"alert {alert_id} was exported as {old['verdict']} "
            f"({old['exported']['as']}); remove that video deliberately first",
        )
    mark = {
        "verdict": verdict,
        "device": a.device,
        "footage": a.footage,
        "start": a.start,
        "end": a.end,
        "peak_frame": a.peak_frame,
        "peak_score": a.peak_score,
        "model_version": a.model_version,
        "model_uri": a.model_uri,
        "note": note,
        "marked_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "exported": (old or {}).get("exported") if old and old.get("verdict") == verdict else None,
    }
    marks[alert_id] = mark
    write_json(marks_path(scores, settings), marks)
    return mark


@dataclass
class ExportResult:
    exported: list[dict]  # {"alert": id, "verdict": ..., "as": scene/split/NN, "video": staged file}
    failed: list[dict]  # {"alert": id, "reason": ...}
    report: object | None  # the ImportReport (None: nothing to export)

    def as_dict(self) -> dict:
        return {
            "exported": self.exported,
            "failed": self.failed,
            "report": str(self.report.path) if self.report is not None and self.report.path else None,
        }


def export_marks(
    scores: str | Path,
    data_root: str | Path,
    settings: FeedbackSettings | None = None,
    jpeg_quality: int = 95,
    min_frames: int = 16,
    clip_len: int = 16,
    cycle_frames: Mapping[str, float] | None = None,
) -> ExportResult:
    """Import the footage of every marked, not yet exported alert into `data_root` (module docstring).
    `cycle_frames`: each device's cycle length in frames where known (the period step's summary)."""
    from ..data.importer import import_source

    settings = settings or FeedbackSettings()
    scores, data_root = Path(scores), Path(data_root)
    marks = read_marks(scores, settings)
    todo = {k: m for k, m in marks.items() if not m.get("exported")}
    if not todo:
        return ExportResult([], [], None)
    batch = scores / settings.staging / time.strftime("%Y%m%d-%H%M%S")
    staged, failed = {}, []
    for alert_id, m in todo.items():
        try:
            if (problem := device_footage_problem(data_root, m.get("device"))) is not None:
                raise DataError(data_root / (m.get("device") or ""), problem)
            ctx = context_frames(settings, clip_len, (cycle_frames or {}).get(m["device"]))
            staged[alert_id] = _stage(batch, alert_id, m, ctx, settings)  # (the video, its first frame)
        except DataError as e:
            failed.append({"alert": alert_id, "reason": str(e)})
    if not staged:
        return ExportResult([], failed, None)
    origins = {  # sources.json records what each video is: the manifest's origin columns, read by calibration
        str(video): {
            "kind": marks[alert_id]["verdict"],
            "alert": alert_id,
            "footage": marks[alert_id]["footage"],
            "span": [marks[alert_id]["start"], marks[alert_id]["end"]],
            # the alert's own frames in the exported video (the rest is context): what the operator judged
            "frames": [marks[alert_id]["start"] - first, marks[alert_id]["end"] - first],
            "model_version": marks[alert_id].get("model_version"),
        }
        for alert_id, (video, first) in staged.items()
    }
    report = import_source(batch, data_root, jpeg_quality=jpeg_quality, min_frames=min_frames, origins=origins)
    exported = []
    done = {r["source"]: r["as"] for r in report.imported + report.unchanged}
    bad = {q["path"]: q["reason"] for q in report.quarantined}
    for alert_id, (video, _) in staged.items():
        if str(video) in done:
            marks[alert_id]["exported"] = {
                "as": done[str(video)],
                "video": str(video),
                "report": str(report.path) if report.path else None,
                "at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            }
            exported.append(
                {"alert": alert_id, "verdict": marks[alert_id]["verdict"], "as": done[str(video)], "video": str(video)}
            )
        else:
            reason = bad.get(str(video)) or next(
                (r for p, r in bad.items() if p.startswith(str(video.with_suffix("")))),
                "not imported (see the import report)",
            )
            failed.append({"alert": alert_id, "reason": f"{video}: {reason}"})
    write_json(marks_path(scores, settings), marks)
    return ExportResult(exported, failed, report)


def context_frames(settings: FeedbackSettings, clip_len: int, cycle_frames: float | None) -> int:
    """Frames exported on each side of a marked alert's span: enough for whole clips on its first and
    last frames, and, with the device's cycle length, for the period step's whole-cycle crop to keep
    them (``feedback.context_cycles``)."""
    ctx = max(settings.context_frames, clip_len // 2)
    if cycle_frames:
        ctx = max(ctx, int(np.ceil(settings.context_cycles * cycle_frames)) + clip_len // 2)
    return ctx


def _stage(batch: Path, alert_id: str, mark: dict, ctx: int, settings: FeedbackSettings) -> tuple[Path, int]:
    """The alert's frames as a lossless video (and, confirmed, its label file) in the import's layout;
    (the video, the frame of the footage it starts at)."""
    import cv2

    from ..data.frames import list_frame_files
    from ..data.video_reader import VideoFileSource
    from .evidence import read_native_frames

    footage = Path(mark["footage"])
    if not footage.exists():
        raise DataError(footage, f"the footage of alert {alert_id} is gone (moved or deleted since it was scored)")
    src = VideoFileSource(footage) if footage.is_file() else None
    n = len(src) if src is not None else len(list_frame_files(footage))
    fps = src.fps if src is not None and src.fps else settings.fps
    first, last = max(0, mark["start"] - ctx), min(n - 1, mark["end"] + ctx)
    frames = read_native_frames(footage, range(first, last + 1))
    split = SPLIT_OF[mark["verdict"]]
    video = batch / mark["device"] / split / (alert_id.replace(":", ".alert").replace("/", "_") + ".mkv")
    video.parent.mkdir(parents=True, exist_ok=True)
    H, W = frames.shape[1:3]
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"FFV1"), float(fps), (W, H))
    if not w.isOpened():
        raise DataError(video, "cannot write a video here (OpenCV's FFV1 writer did not open)")
    for f in frames:
        w.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    w.release()
    if split == "testing":
        labels = np.zeros(len(frames), np.uint8)
        labels[mark["start"] - first : mark["end"] - first + 1] = 1
        np.save(video.with_suffix(".npy"), labels)
    return video, first


def mark_summary(marks: dict) -> dict:
    return {v: sum(1 for m in marks.values() if m.get("verdict") == v) for v in VERDICTS}
