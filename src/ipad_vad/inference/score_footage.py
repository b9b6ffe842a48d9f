"""Score one piece of footage end to end: frames -> StreamScorer -> per-frame table, alert intervals
(JSON, plus a JSON-lines log written as alerts happen), and a score-over-time plot."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ..alerts.alert_tracker import AlertEvent
from ..alerts.evidence import AlertEvidence, NormalFrame
from ..alerts.operator_settings import EvidenceSettings
from ..io_utils import write_dataframe, write_json
from .champion import LoadedScorer
from .footage_context import FootageContext
from .frame_sources import open_footage
from .stream_scorer import StreamScorer


def score_footage(
    scorer: LoadedScorer,
    path: str | Path,
    out_dir: str | Path,
    name: str | None = None,
    fmt: str = "csv",
    device: str = "cpu",
    batch_clips: int | None = None,
    max_latency: int | None = None,
    amp: bool = True,
    follow: bool = False,
    poll_s: float = 0.5,
    idle_timeout: float | None = None,
    any_size: bool = False,
    on_event: Callable[[AlertEvent, float | None], None] | None = None,
    context: FootageContext | None = None,
    stop: Callable[[], str | None] | None = None,
    evidence: EvidenceSettings | None = None,
    normal_frame: NormalFrame | None = None,
    device_name: str | None = None,
) -> dict:
    """Writes ``<out>/<name>.scores.<fmt>``, ``<name>.alerts.json``, ``<name>.alerts.jsonl`` (one line per
    alert event; empty when there is none) and ``<name>.png``; returns the summary (the JSON's content).
    `context`: what the manifest knows of the footage (``footage_context.py``): its fps where the footage
    has none (a frame folder), and labels, drawn beside the alerts and written as a ``label`` column.
    `stop` (follow mode): once it returns a reason (``stop.py``: SIGINT or SIGTERM) no more frames are
    read; the clips already taken are scored and every output is written for the frames read, with the
    reason as ``stopped_by`` in the summary.

    Each alert event (and alert in the summary) carries its id (``<name>:<k>``), the device, the
    model version and, unless ``score.evidence.enabled`` is off, what an operator decides on
    (``alerts/evidence.py``): the region box in frame pixels, the heat map and the PNG of the peak
    frame beside the nearest normal one (`normal_frame`: where to find it), the components at the peak."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format must be csv or parquet, got {fmt!r}")
    cal = scorer.calibration
    footage = open_footage(
        path,
        cal.frame_size,
        None if any_size else cal.source_size,
        follow=follow,
        poll_s=poll_s,
        idle_timeout=idle_timeout,
        stop=stop,
    )
    name = name or footage.name
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    context = context or FootageContext()
    fps = footage.fps or context.fps
    log = out_dir / f"{name}.alerts.jsonl"
    log.write_text("")  # the events log exists from the start (tail -f), empty while there is no alert
    stream = StreamScorer(
        scorer.method, scorer.model, cal, device, batch_clips, max_latency, amp, name=str(path), check_size=False
    )
    rows, t0 = [], time.perf_counter()
    dev_name = device_name or device_of_uri(scorer.uri)
    explainer = AlertEvidence(
        scorer.method,
        stream.model,
        cal,
        out_dir,
        name,
        path,
        evidence,
        ring=cal.clip_len + stream.latency + stream.batch + 2,
        device=stream.device,
        normal_frame=normal_frame,
        model_version=scorer.version,
        model_uri=scorer.uri,
    )
    carried: dict[int, dict] = {}  # alert start frame -> what its latest event carried

    def drain(scores):
        for fs in scores:
            explainer.observe(fs)
        rows.extend(scores)
        for ev in stream.events:
            carried[ev.alert.start] = info = explainer.explain(ev)
            record = {
                "event": ev.kind,
                "raised_at_frame": ev.arrived,
                **ev.alert.to_dict(fps),
                "device": dev_name,
                **info,
            }
            with open(log, "a") as f:  # one line per event, flushed as it happens (tail -f friendly)
                f.write(json.dumps(record) + "\n")
            if on_event:
                on_event(ev, fps)
        stream.events.clear()

    for frame in footage.frames:
        explainer.push(frame)
        drain(stream.push(frame))
    drain(stream.close())
    seconds = time.perf_counter() - t0
    df = pd.DataFrame([r.row() for r in rows])
    if fps:
        df.insert(1, "time_s", df.frame / fps)
    alerts = stream.tracker.alerts
    df["alert"] = False
    for a in alerts:
        df.loc[(df.frame >= a.start) & (df.frame <= a.end), "alert"] = True
    labels = None
    if context.labels is not None and len(df):
        known = df.frame.to_numpy() < len(context.labels)
        df["label"] = np.where(known, context.labels[np.minimum(df.frame.to_numpy(), len(context.labels) - 1)], -1)
        labels = df.label.to_numpy()
    table = out_dir / f"{name}.scores.{fmt}"
    write_dataframe(table, df)
    from ..evaluate.plots import plot_alert_timeline

    components = ", ".join(f"{w:g}·{c}" for c, w in zip(cal.components, cal.weights))
    plot = plot_alert_timeline(
        df.frame.to_numpy(),
        df.score.to_numpy(),
        cal.threshold,
        alerts,
        f"{name} ({scorer.uri})",
        out_dir / f"{name}.png",
        fps,
        labels=labels,
        score_label=f"calibrated score: {components} (z-scores)",
        clip_len=cal.clip_len,
    )
    summary = {
        "path": str(path),
        "device": dev_name,
        "model_uri": scorer.uri,
        "model_version": scorer.version,
        "method": scorer.method.name,
        "threshold": cal.threshold,
        "false_alarm_rate": cal.false_alarm_rate,
        "fps": fps,
        "fps_from": "footage" if footage.fps else ("manifest" if fps else None),
        "labels_from": context.source if labels is not None else None,
        "frames": stream.frames_seen,
        "scored_frames": len(df),
        "first_scored_frame": int(df.frame.min()) if len(df) else None,
        "batch_clips": stream.batch,
        "latency_frames": stream.latency,
        "seconds": round(seconds, 3),
        "frames_per_s": round(stream.frames_seen / seconds, 2) if seconds else None,
        "alerts": [{**a.to_dict(fps), **carried.get(a.start, {})} for a in alerts],
        "stopped_by": stop() if stop else None,
        "outputs": {"scores": str(table), "plot": str(plot), "events": str(log)},
    }
    write_json(out_dir / f"{name}.alerts.json", summary)
    return summary


def device_of_uri(uri: str | None) -> str | None:
    """The device of a registered model URI (``models:/ipad-vad-<device>/<version or @alias>``), else None."""
    from ..registry import BASE_PREFIX

    if not uri or not uri.startswith("models:/"):
        return None
    name = uri.removeprefix("models:/").split("/")[0].split("@")[0]
    if not name.startswith("ipad-vad-") or name.startswith(BASE_PREFIX):
        return None
    return name.removeprefix("ipad-vad-")
