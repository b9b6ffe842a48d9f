"""The serving loop: every camera's frames into its own ``StreamScorer`` (the clip and window logic of
`ipad score`), the complete clips of all cameras whose devices share a model scored in one forward,
per-camera outputs, metrics, champion changes between batches, faults reported without stopping the
other cameras.

Devices whose champions are LoRA adaptations of one base share it: the base once, an adapter per device
(``inference/shared_base.py``; ``serve.share_lora_bases``); their clips are batched per base and scored
per device adapter.

Latency: each camera's clips are scored at the latest once it has the batch that
``score.max_latency`` allows it (``stream_scorer.batch_for_latency``, as `ipad score`); the forward then
takes the complete clips of every camera of that model, so no camera waits for another. A camera that
goes quiet for ``serve.flush_s`` gets its complete clips scored at once.

Outputs in ``serve.out`` per camera: ``<name>.scores.csv`` (`ipad score`'s columns - frame, [time_s], the
components, t_p, score, hot, alert - and model_version: the registry version that scored the frame; a row
is written once the frame's alert column is settled, at most an alert's ``min_frames`` and ``merge_gap``
(``merge_gap_max`` for a long alert, with ``alert.merge_stretch``; ``alert.hold_max`` more while its score
is held) after its score is known; a frame that could not be used (corrupt,
wrongly sized, missing) ends the camera's stream and a new one starts after it, so no clip spans it and
the frames around it have no score, as at the ends of a video), ``<name>.alerts.jsonl`` (the alert events, as `ipad score`'s), and
``<name>.faults.jsonl`` (stalled, resumed, corrupt_frame, wrong_size, missing_frame, disconnected,
reconnected, source_error, ended); ``serve.events.jsonl``: model swaps and failed loads. A file that
cannot be written (a full disk) stops the server with an error naming it.
"""

from __future__ import annotations

import bisect
import functools
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import torch

from ..alerts.evidence import AlertEvidence, manifest_normal_frames
from ..alerts.operator_settings import EvidenceSettings
from ..errors import ConfigError, DataError
from ..evaluate.scoring import score_batch
from ..inference.champion import LoadedScorer
from ..inference.shared_base import SharedBase, adapter_name, tensor_bytes
from ..inference.stream_scorer import FrameScore, StreamScorer
from .config import CameraConfig, ServeConfig
from .metrics import ServeMetrics
from .settings import ServeSettings
from .sources import Reader, make_reader

log = logging.getLogger("ipad.serve")
NEVER = 1 << 40  # a StreamScorer batch it never reaches: the server decides when clips are scored
FPS_WINDOW_S = 5.0  # ipad_serve_camera_fps: frames over the last seconds


@dataclass
class ServeOptions:
    """What `ipad serve` takes from the rest of params.yaml (``score:``, ``train.amp``, the promotion
    minimum)."""

    device: str = "cpu"
    max_latency: int | None = None  # frames (score.max_latency); None: one clip
    batch_clips: int | None = None  # score.batch_clips: a fixed batch per camera
    amp: bool = True
    min_auc: float = 0.0
    evidence: EvidenceSettings = field(default_factory=EvidenceSettings)  # score.evidence: what an alert carries
    manifest: str | None = None  # data.manifest: where each device's nearest normal frames are found


class Outputs:
    """Append-only files, flushed after each batch; an OSError is a DataError naming the file."""

    def __init__(self):
        self._files: dict[Path, object] = {}

    def open(self, path: Path) -> None:
        try:
            self._files[path] = open(path, "w", encoding="utf-8")
        except OSError as e:
            raise DataError(path, f"cannot write ({e.strerror})") from None

    def write(self, path: Path, text: str) -> None:
        try:
            f = self._files[path]
            f.write(text)
            f.flush()
        except OSError as e:
            raise DataError(
                path, f"cannot write ({e.strerror}); `ipad serve` stopped: free space or fix the file and restart"
            ) from None

    def close(self) -> None:
        for f in self._files.values():
            try:
                f.close()
            except OSError:
                pass


@dataclass
class Camera:
    cfg: CameraConfig
    scorer: StreamScorer
    batch: int  # clips the latency bound allows before they must be scored
    model_key: str
    version: str | None
    q: queue.Queue
    reader: Reader | None = None
    files: dict[str, Path] = field(default_factory=dict)
    offset: int = 0  # source frame number of the scorer's frame 0
    received: int = 0  # source frame slots received (good or not)
    clips: int = 0  # clips accepted by the current scorer
    marks: list[tuple[int, str]] = field(default_factory=list)  # (first centre frame, version that scored from it)
    expected: tuple[int, int] | None = None
    last_frame_t: float = 0.0
    stalled: bool = False
    ended: bool = False
    scored_upto: int = -1
    arrivals: list[float] = field(default_factory=list)
    arrival_of: dict[int, float] = field(default_factory=dict)
    last_fault: dict[str, float] = field(default_factory=dict)
    explainer: AlertEvidence | None = None  # what each alert carries, as `ipad score` writes it (issue 26)
    held: list[tuple[int, dict]] = field(default_factory=list)  # (scorer frame, CSV row) until its alert column settles
    alert_spans: list[list] = field(default_factory=list)  # [start, end or None while open] of the stream's alerts

    @property
    def name(self) -> str:
        return self.cfg.name


class Server:
    """``run()`` until ``stop()`` (SIGTERM), ``serve.idle_exit_s`` without frames, or every camera's
    source has ended; then the complete clips are scored, every stream closed (the last frames'
    scores and open alerts written) and it returns 0. `frames`: cameras fed through the Python API
    (name -> iterator of RGB uint8 frames), overriding the config's source. `loader(device, version,
    min_auc)` loads a device's champion (tests pass their own); by default the registry's
    (``inference/champion.py``). ``on_scored(camera, frames, t)``, when set, is called with the source
    frame numbers scored at monotonic time `t` (the benchmark's per-frame delays)."""

    def __init__(
        self,
        cfg: ServeConfig,
        settings: ServeSettings,
        options: ServeOptions | None = None,
        frames: dict[str, Iterable] | None = None,
        where: str = "serve config",
        loader=None,
    ):
        self.cfg, self.s, self.o = cfg, settings, options or ServeOptions()
        self.frames, self.where = frames or {}, where
        self.loader = loader or functools.partial(_load_champion, share=settings.share_lora_bases)
        self.on_scored: Callable[[str, list[int], float], None] | None = None
        self.metrics = ServeMetrics()
        self.out = Path(settings.out)
        self.outputs = Outputs()
        self._stop = threading.Event()  # stop() was called
        self._readers_stop = threading.Event()
        self._wake = threading.Event()
        self._swaps: queue.Queue = queue.Queue()
        self.devices: dict[str, LoadedScorer] = {}
        self.models: dict[str, tuple] = {}  # key -> (method, model on the torch device, or the SharedBase)
        self.bases: dict[str, SharedBase] = {}  # base file SHA-256 -> the base held once, an adapter per device version
        self._bases_lock = threading.Lock()
        self.failed_versions: dict[str, set] = {}
        self.cameras: list[Camera] = []
        self.ready = False
        self.draining = False
        self.http: ThreadingHTTPServer | None = None
        self.error: Exception | None = None

    # ---------------------------------------------------------------- start
    def load_models(self) -> None:
        for dev in dict.fromkeys(c.device for c in self.cfg.cameras):
            names = [c.name for c in self.cfg.cameras if c.device == dev]
            try:
                loaded = self._attach(dev, self.loader(dev, None, self.o.min_auc))
            except ConfigError as e:
                raise ConfigError(f"{self.where}: camera {', '.join(map(repr, names))}: {e}") from None
            self._install(dev, loaded)

    def _attach(self, device: str, loaded: LoadedScorer) -> LoadedScorer:
        """A LoRA champion (``loaded.shared``): its adapter added to its base, the base loaded the first
        time a champion names it (in the calling thread: the registry poller's for a new champion)."""
        files = loaded.shared
        if files is None or loaded.model is not None:
            return loaded
        with self._bases_lock:
            base = self.bases.get(files.base_key)
            if base is None:
                base = self.bases[files.base_key] = SharedBase(files.base, files.base_key, self.o.device)
            try:
                view = base.add(adapter_name(device, loaded.version), files.adapter)
            except Exception:
                if not base.views:
                    del self.bases[files.base_key]
                raise
        return replace(loaded, method=base.method, model=view)

    def _install(self, device: str, loaded: LoadedScorer) -> str:
        key = _model_key(loaded)
        if loaded.shared is not None:
            self.models[key] = (loaded.method, self.bases[loaded.shared.base_key])
        else:
            if key not in self.models:
                self.models[key] = (loaded.method, loaded.model.eval().to(self.o.device))
            loaded = replace(loaded, model=self.models[key][1])
        self.devices[device] = loaded
        self.metrics.model_version.labels(device).set(_num(loaded.version))
        return key

    def _release(self, old: LoadedScorer) -> None:
        """After a swap: the old champion's adapter dropped when no device uses it, its base when no adapter is left."""
        if old.shared is None or any(ld.model is old.model for ld in self.devices.values()):
            return
        with self._bases_lock:
            base = self.bases.get(old.shared.base_key)
            if base is None:
                return
            base.remove(old.model.adapter)
            if not base.views:
                del self.bases[old.shared.base_key]

    def _memory_metrics(self) -> None:
        held = []
        for _, model in self.models.values():
            held += model.tensors() if isinstance(model, SharedBase) else [*model.parameters(), *model.buffers()]
        self.metrics.model_bytes.set(tensor_bytes(held))
        self.metrics.shared_bases.set(len(self.bases))
        self.metrics.base_adapters.clear()
        for key, base in self.bases.items():
            self.metrics.base_adapters.labels(key[:16]).set(len(base.views))

    def open_outputs(self) -> None:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DataError(self.out, f"cannot create the output folder ({e.strerror})") from None
        self.events_file = self.out / "serve.events.jsonl"
        self.outputs.open(self.events_file)
        for c in self.cfg.cameras:
            ld = self.devices[c.device]
            cal = ld.calibration
            scorer = self._new_scorer(c, ld)
            cam = Camera(
                c,
                scorer,
                scorer.batch,
                _model_key(ld),
                ld.version,
                queue.Queue(self.s.queue_frames),
                expected=tuple(cal.source_size) if cal.source_size else None,
                last_frame_t=time.monotonic(),
            )
            scorer.batch = NEVER
            cam.marks.append((0, ld.version))
            cam.explainer = AlertEvidence(
                ld.method,
                scorer.model,
                cal,
                self.out,
                c.name,
                c.source or c.name,
                self.o.evidence,
                ring=cal.clip_len + scorer.latency + scorer.batch + 2,
                device=scorer.device,
                normal_frame=manifest_normal_frames(self.o.manifest, c.device) if self.o.manifest else None,
                model_version=ld.version,
                model_uri=ld.uri,
            )
            for kind, suffix in (("scores", "scores.csv"), ("alerts", "alerts.jsonl"), ("faults", "faults.jsonl")):
                cam.files[kind] = self.out / f"{c.name}.{suffix}"
                self.outputs.open(cam.files[kind])
            self._write_header(cam)
            self.cameras.append(cam)
        self._memory_metrics()

    def _new_scorer(self, c: CameraConfig, ld: LoadedScorer) -> StreamScorer:
        return StreamScorer(
            ld.method,
            ld.model,
            ld.calibration,
            self.o.device,
            self.o.batch_clips,
            self.o.max_latency,
            self.o.amp,
            name=c.name,
            check_size=False,
        )

    def _write_header(self, cam: Camera) -> None:
        cols = (
            ["frame"]
            + ["time_s"] * bool(cam.cfg.fps)
            + list(cam.scorer.method.clip_components)
            + list(cam.scorer.window_names)
            + ["t_p", "score", "hot", "alert", "model_version"]
        )
        cam.columns = [c for c in dict.fromkeys(cols)]
        self.outputs.write(cam.files["scores"], ",".join(cam.columns) + "\n")

    def start_http(self) -> tuple[str, int]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

                if self.path.split("?")[0] == "/metrics":
                    body, ctype, code = generate_latest(server.metrics.registry), CONTENT_TYPE_LATEST, 200
                elif self.path.split("?")[0] == "/healthz":
                    health = server.health()
                    body, ctype = json.dumps(health).encode(), "application/json"
                    code = 200 if health["status"] == "ok" else 503
                else:
                    body, ctype, code = b"not found: /metrics, /healthz\n", "text/plain", 404
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        try:
            self.http = ThreadingHTTPServer((self.s.host, self.s.port), Handler)
        except OSError as e:
            raise ConfigError(
                f"{self.where}: serve.host/port {self.s.host}:{self.s.port}: cannot listen ({e.strerror})"
            ) from None
        self.http.daemon_threads = True
        threading.Thread(target=self.http.serve_forever, name="serve-http", daemon=True).start()
        return self.http.server_address[:2]

    def health(self) -> dict:
        status = (
            "ok"
            if self.ready and not self.draining and self.error is None
            else ("draining" if self.draining else ("failed" if self.error else "starting"))
        )
        return {
            "status": status,
            "cameras": {c.name: ("ended" if c.ended else "stalled" if c.stalled else "up") for c in self.cameras},
            "models": {d: ld.version for d, ld in self.devices.items()},
        }

    def start(self) -> None:
        """Models, outputs, readers, registry poller (HTTP: ``start_http``)."""
        if not self.devices:
            self.load_models()
        if not self.cameras:
            self.open_outputs()
        for cam in self.cameras:
            source = self.frames.get(cam.name, cam.cfg.source)
            cam.reader = make_reader(cam.name, source, cam.q, self._readers_stop, cam.scorer.size, self.s)
            cam.reader.on_put = self._wake.set
            cam.reader.start()
        threading.Thread(target=self._poll_registry, name="serve-registry", daemon=True).start()
        self.ready = True

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    # ---------------------------------------------------------------- loop
    def run(self) -> int:
        self.start()
        try:
            self._loop()
        except Exception as e:
            self.error = e
            raise
        finally:
            self._readers_stop.set()
            self.ready = False
            self.outputs.close()
            if self.http is not None:
                self.http.shutdown()
                self.http.server_close()
        return 0

    def _loop(self) -> None:
        last_any = time.monotonic()
        while True:
            if self._stop.is_set() and not self.draining:
                self.draining = True
                self._readers_stop.set()  # no new frames; what was received is scored below
                log.info("stopping: scoring the frames received, closing %d stream(s)", len(self.cameras))
            self._wake.clear()
            moved = sum(self._take(cam) for cam in self.cameras)
            now = time.monotonic()
            if moved:
                last_any = now
            self._apply_swaps()
            for cam in self.cameras:
                self._watch(cam, now)
            ran = self._score(now)
            queued = any(not c.q.empty() for c in self.cameras)
            if self.draining and not queued:
                break
            if not queued and all(c.ended for c in self.cameras):
                log.info("every camera's source has ended")
                break
            if self.s.idle_exit_s and now - last_any > self.s.idle_exit_s and not queued:
                log.info("no frame for %.1f s (serve.idle_exit_s): stopping", self.s.idle_exit_s)
                break
            if not moved and not ran:
                self._wake.wait(self.s.poll_s)
        for cam in self.cameras:  # drain: score the complete clips, then the stream's end
            self._emit(cam, cam.scorer.close())
            self.metrics.lag.labels(cam.name).set(0)

    def _take(self, cam: Camera) -> int:
        """Frames from the camera's queue into its scorer, up to the batch its latency allows."""
        n = 0
        while cam.scorer.pending < cam.batch:
            try:
                item = cam.q.get_nowait()
            except queue.Empty:
                break
            n += 1
            if item[0] == "frame":
                self._frame(cam, item[1], item[2])
            elif item[0] == "fault":
                self._fault(cam, item[1], item[2])
            else:
                cam.ended = True
                self._fault(cam, "ended", item[1], throttle=False)
        self.metrics.queue.labels(cam.name).set(cam.q.qsize())
        return n

    def _frame(self, cam: Camera, frame, native) -> None:
        now = time.monotonic()
        idx = cam.received
        cam.received += 1
        if frame is not None and cam.expected is None:
            cam.expected = tuple(native)
        if frame is not None and tuple(native) != tuple(cam.expected):
            self._fault(
                cam,
                "wrong_size",
                f"frame {idx} is {native[0]}x{native[1]} (HxW), the camera's footage "
                f"{cam.expected[0]}x{cam.expected[1]}: skipped",
            )
            frame = None
        if frame is None:  # no clip may span it: the stream ends before it and a new one starts after it
            self._restart(cam, self.devices[cam.cfg.device], idx + 1)
            return
        if cam.stalled:
            cam.stalled = False
            self._fault(cam, "resumed", f"frames again after {now - cam.last_frame_t:.1f} s", throttle=False)
            self.metrics.up.labels(cam.name).set(1)
        cam.last_frame_t = now
        cam.arrivals.append(now)
        cam.arrival_of[idx] = now
        self.metrics.frames.labels(cam.name).inc()
        self.metrics.up.labels(cam.name).set(1)
        cam.scorer.push(frame)
        cam.explainer.push(frame)

    def _restart(self, cam: Camera, ld: LoadedScorer, offset: int) -> None:
        """End the camera's stream (its complete clips scored, the last frames' scores and any open
        alert written) and start a new one whose frame 0 is source frame `offset`."""
        if cam.scorer.frames_seen:
            self._emit(cam, cam.scorer.close())  # the stream's end: every held row written
            cam.scorer = self._new_scorer(cam.cfg, ld)
            cam.batch, cam.scorer.batch = cam.scorer.batch, NEVER
            cam.alert_spans = []
        cam.offset, cam.clips = offset, 0
        cam.marks = [(offset, ld.version)]
        cam.explainer.restart(offset)
        cam.explainer.use_model(ld.method, cam.scorer.model, ld.calibration, ld.version, ld.uri)

    def _watch(self, cam: Camera, now: float) -> None:
        if not cam.stalled and not cam.ended and now - cam.last_frame_t > self.s.stall_s:
            cam.stalled = True
            self._fault(
                cam,
                "stalled",
                f"no frame for {now - cam.last_frame_t:.1f} s (serve.stall_s = {self.s.stall_s:g})",
                throttle=False,
            )
            self.metrics.up.labels(cam.name).set(0)
        cut = now - FPS_WINDOW_S
        del cam.arrivals[: bisect.bisect_left(cam.arrivals, cut)]
        self.metrics.fps.labels(cam.name).set(len(cam.arrivals) / FPS_WINDOW_S)
        self.metrics.lag.labels(cam.name).set(max(0, cam.received - 1 - cam.scored_upto))

    def _score(self, now: float) -> bool:
        """One forward per model whose cameras have a full batch (or a quiet camera, or draining):
        the complete clips of all its cameras together."""
        ran = False
        groups: dict[str, list[Camera]] = {}
        for cam in self.cameras:
            groups.setdefault(cam.model_key, []).append(cam)
        for key, cams in groups.items():
            due = any(
                c.scorer.pending >= c.batch
                or (c.scorer.pending and (self.draining or c.ended or now - c.last_frame_t >= self.s.flush_s))
                for c in cams
            )
            if not due:
                continue
            while True:
                take, total = [], 0
                for c in cams:
                    if c.scorer.pending and total < self.s.max_batch_clips:
                        total += c.scorer.pending
                        take.append(c)
                if not take:
                    break
                xs = [c.scorer.take_clips() for c in take]
                t0 = time.perf_counter()
                parts = _forward(take, xs, self.o.amp)
                self.metrics.forward.labels(key).observe(time.perf_counter() - t0)
                self.metrics.batch.labels(key).observe(sum(len(x) for x in xs))
                self.metrics.batch_cameras.labels(key).observe(len(take))
                for c, x, part in zip(take, xs, parts):
                    centre = c.offset + c.scorer.T // 2 + c.clips
                    if c.marks[-1][1] != c.version:
                        c.marks.append((centre, c.version))
                    c.clips += len(x)
                    self._emit(c, c.scorer.accept(part))
                ran = True
                break
        return ran

    def _emit(self, cam: Camera, scores: list[FrameScore]) -> None:
        fps = cam.cfg.fps
        for fs in scores:
            cam.explainer.observe(fs)
        for ev in cam.scorer.events:  # the alert spans, for the CSV's alert column
            if ev.kind == "start":
                cam.alert_spans.append([ev.alert.start, None])
            elif cam.alert_spans and cam.alert_spans[-1][1] is None:
                cam.alert_spans[-1][1] = ev.alert.end
        if scores:
            firsts = [m[0] for m in cam.marks]
            for fs in scores:
                f = fs.frame + cam.offset
                version = cam.marks[bisect.bisect_right(firsts, f) - 1][1]
                cam.held.append(
                    (
                        fs.frame,
                        {
                            "frame": f,
                            "time_s": f / fps if fps else None,
                            **fs.components,
                            "t_p": fs.t_p,
                            "score": fs.score,
                            "hot": fs.hot,
                            "model_version": version or "",
                        },
                    )
                )
            last = scores[-1].frame + cam.offset
            cam.scored_upto = last
            self.metrics.scored.labels(cam.name).inc(len(scores))
            now = time.monotonic()
            if self.on_scored is not None:
                self.on_scored(cam.name, [fs.frame + cam.offset for fs in scores], now)
            arrived = cam.arrival_of.get(last)
            if arrived is not None:
                self.metrics.lag_s.labels(cam.name).set(now - arrived)
            for k in [k for k in cam.arrival_of if k <= last]:
                del cam.arrival_of[k]
            if len(cam.marks) > 2 and cam.marks[1][0] <= last:
                del cam.marks[: bisect.bisect_right(firsts, last) - 1]
        self._write_settled(cam)
        for ev in cam.scorer.events:
            a = (
                ev.alert
                if not cam.offset
                else replace(
                    ev.alert,
                    start=ev.alert.start + cam.offset,
                    end=ev.alert.end + cam.offset,
                    peak_frame=ev.alert.peak_frame + cam.offset,
                )
            )
            record = {
                "event": ev.kind,
                "raised_at_frame": None if ev.arrived is None else ev.arrived + cam.offset,
                **a.to_dict(fps),
                "device": cam.cfg.device,
                **cam.explainer.explain(ev),
            }
            self.outputs.write(cam.files["alerts"], json.dumps(record) + "\n")
            if ev.kind == "start":
                self.metrics.alerts.labels(cam.name).inc()
                log.warning(
                    "camera %s: ALERT from frame %d (raised when frame %s arrived)",
                    cam.name,
                    a.start,
                    record["raised_at_frame"],
                )
            else:
                log.info("camera %s: alert over: frames %d-%d, peak %.2f", cam.name, a.start, a.end, a.peak_score)
        cam.scorer.events.clear()

    def _write_settled(self, cam: Camera) -> None:
        """The held rows whose alert column can no longer change, with `ipad score`'s alert column (the
        frame lies in an alert's span, first to last hot frame)."""
        horizon = cam.scorer.tracker.unsettled_from()
        n = len(cam.held) if horizon is None else bisect.bisect_left(cam.held, horizon, key=lambda h: h[0])
        if not n:
            return
        lines = []
        for frame, row in cam.held[:n]:
            row["alert"] = any(s <= frame and (e is None or frame <= e) for s, e in cam.alert_spans)
            lines.append(",".join(_csv(row.get(c)) for c in cam.columns))
        del cam.held[:n]
        self.outputs.write(cam.files["scores"], "\n".join(lines) + "\n")
        first = cam.held[0][0] if cam.held else horizon
        if first is not None:  # spans wholly before the rows still held are not needed again
            cam.alert_spans = [sp for sp in cam.alert_spans if sp[1] is None or sp[1] >= first]
        else:
            cam.alert_spans = [sp for sp in cam.alert_spans if sp[1] is None]

    def _fault(self, cam: Camera, kind: str, detail: str, throttle: bool = True) -> None:
        """Reported in the camera's faults log and the metrics; logged (a fault repeating within
        ``serve.stall_s`` only counted, not logged again)."""
        now = time.monotonic()
        if kind != "resumed":
            self.metrics.faults.labels(cam.name, kind).inc()
        if kind in ("disconnected", "source_error", "ended"):
            self.metrics.up.labels(cam.name).set(0)
        record = {"event": kind, "camera": cam.name, "frame": cam.received, "time": time.time(), "detail": detail}
        self.outputs.write(cam.files["faults"], json.dumps(record) + "\n")
        if throttle and now - cam.last_fault.get(kind, -1e9) < self.s.stall_s:
            return
        cam.last_fault[kind] = now
        (log.info if kind in ("resumed", "reconnected", "ended") else log.warning)(
            "camera %s: %s: %s", cam.name, kind, detail
        )

    # ---------------------------------------------------------------- champions
    def _poll_registry(self) -> None:
        while not self._readers_stop.wait(self.s.registry_poll_s):
            for device in list(self.devices):
                try:
                    self.check_champion(device)
                except Exception as e:  # noqa: BLE001 - the registry may be briefly unreachable
                    log.warning("registry: cannot check the champion of %s: %s", device, e)

    def check_champion(self, device: str) -> str | None:
        """Load the device's champion if it moved (in this thread: the scoring goes on with the old
        one); the swap happens between batches. Returns the version queued, or None."""
        version = _champion_version(device)
        current = self.devices[device].version
        if version is None or version == current or version in self.failed_versions.get(device, set()):
            return None
        try:
            loaded = self._attach(device, self.loader(device, version, self.o.min_auc))
        except Exception as e:  # noqa: BLE001 - reported, the old version stays
            self.failed_versions.setdefault(device, set()).add(version)
            self.metrics.model_failures.labels(device).inc()
            detail = str(e).splitlines()[0] if str(e) else type(e).__name__
            log.error(
                "device %s: champion v%s cannot be loaded (%s): v%s keeps scoring", device, version, detail, current
            )
            self._swaps.put((device, ("failed", version, f"{detail}; v{current} keeps scoring")))  # written by the loop
            return None
        self._swaps.put((device, loaded))
        self._wake.set()
        return version

    def _apply_swaps(self) -> None:
        while True:
            try:
                device, loaded = self._swaps.get_nowait()
            except queue.Empty:
                return
            if isinstance(loaded, tuple):
                self._server_event("model_load_failed", device, loaded[1], loaded[2])
                continue
            old_ld = self.devices[device]
            old = old_ld.version
            key = self._install(device, loaded)
            ld = self.devices[device]
            for cam in self.cameras:
                if cam.cfg.device != device:
                    continue
                if not cam.scorer.swap_model(ld.method, ld.model, ld.calibration):
                    # another method or clip shape: this stream ends with the old model, a new one starts
                    self._restart(cam, ld, cam.received)
                else:
                    cam.explainer.use_model(ld.method, cam.scorer.model, ld.calibration, ld.version, ld.uri)
                cam.model_key, cam.version = key, ld.version
            for k in [k for k in self.models if all(c.model_key != k for c in self.cameras)]:
                del self.models[k]
            self._release(old_ld)
            self._memory_metrics()
            self.metrics.model_swaps.labels(device).inc()
            self._server_event("model_swapped", device, ld.version, f"v{old} -> v{ld.version} between batches")
            log.info("device %s: champion v%s -> v%s (between batches)", device, old, ld.version)

    def _server_event(self, kind: str, device: str, version, detail: str) -> None:
        record = {"event": kind, "device": device, "version": version, "time": time.time(), "detail": detail}
        self.outputs.write(self.events_file, json.dumps(record) + "\n")


def _csv(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    return repr(v) if isinstance(v, float) else str(v)


def _num(version) -> float:
    try:
        return float(version)
    except (TypeError, ValueError):
        return float("nan")


def _model_key(loaded: LoadedScorer) -> str:
    """Devices whose champions are the same files (the registry's content tag) share one model; LoRA
    champions of one base share the base (their clips batched together, scored per device adapter)."""
    if loaded.shared is not None:
        return f"base-{loaded.shared.base_key[:16]}"
    return loaded.content_key or loaded.uri


def _forward(cams: list[Camera], xs: list[torch.Tensor], amp: bool) -> list:
    """The clips `xs` of each camera scored, one forward per model (cameras of devices sharing a base:
    one per device adapter); the ClipScores of each camera, in order."""
    groups: dict[int, list[int]] = {}
    for i, c in enumerate(cams):
        groups.setdefault(id(c.scorer.model), []).append(i)
    out: list = [None] * len(cams)
    for idx in groups.values():
        sc = cams[idx[0]].scorer
        res = score_batch(sc.method, sc.model, torch.cat([xs[i] for i in idx]), amp)
        start = 0
        for i in idx:
            n = len(xs[i])
            out[i] = type(res)(
                res.names, res.values[start : start + n], None if res.phase is None else res.phase[start : start + n]
            )
            start += n
    return out


def _champion_version(device: str) -> str | None:
    import mlflow
    from mlflow.exceptions import MlflowException

    from ..registry import device_model_name

    try:
        return str(mlflow.MlflowClient().get_model_version_by_alias(device_model_name(device), "champion").version)
    except MlflowException:
        return None


def _load_champion(device: str, version: str | None, min_auc: float, share: bool = True) -> LoadedScorer:
    """The device's champion (`version` None: the one `ipad score --device` picks, with its checks), or
    that version of its registered model; with the content tag that lets devices share a model. `share`:
    a LoRA champion comes back as its files (``shared``), to be attached to its base by the server."""
    import mlflow

    from ..inference.champion import champion_uri, load_model, no_calibration
    from ..registry import device_model_name
    from ..registry.idempotency import CONTENT_TAG

    name = device_model_name(device)
    uri, version = champion_uri(device, min_auc) if version is None else (f"models:/{name}/{version}", str(version))
    files = _lora_files(uri) if share else None
    if files is None:
        ld = LoadedScorer(*load_model(uri), uri, version)
    else:
        from ..alerts.calibration import Calibration

        if files.calibration is None:
            raise no_calibration(uri)
        ld = LoadedScorer(None, None, Calibration.load(files.calibration), uri, version, shared=files)
    try:
        tag = mlflow.MlflowClient().get_model_version(name, ld.version).tags.get(CONTENT_TAG)
    except Exception:  # noqa: BLE001 - without the tag the model is not shared
        tag = None
    return replace(ld, content_key=f"{tag}" if tag else None)


def _lora_files(uri: str):
    """The files of `uri` when it is a LoRA adaptation of a base (``shared_base.lora_files``), else None."""
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.store.artifact.models_artifact_repo import ModelsArtifactRepository

    from ..inference.champion import _load_problem
    from ..inference.shared_base import artifacts, lora_files

    try:  # the MLmodel file first: a whole model's files are left to the pyfunc loader
        if "adapted" not in artifacts(ModelsArtifactRepository(uri).download_artifacts("MLmodel")):
            return None
        return lora_files(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    except MlflowException as e:
        raise ConfigError(_load_problem(uri, e.message)) from None
