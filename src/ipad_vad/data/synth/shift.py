"""Shift-length normal footage of a device, streamed (issue 26, 1): hours of a machine at work with
the everyday events of a real line that are *not* anomalies, and optionally real anomalies injected
at known times.

A shift is planned up front (:func:`plan_shift`: every event with its nominal time span, from the
shift's own random stream) and rendered as a Python iterator of chunks of frames
(:func:`render_shift`), so 8 nominal hours (57,600 frames at the demo's 2 fps) never sit in memory
or on disk as a whole. Same settings and seed, same frames.

Everyday events (:data:`EVERYDAY`):

* ``light_switch`` - a step change of the global illumination (a hall light switched on or off);
* ``walker``       - a person-sized figure crossing the frame in a few seconds;
* ``planned_stop`` - the machine idle in its home pose (the start of its cycle) for minutes,
                     between batches;
* ``light_drift``  - slow daylight drift of the illumination over hours (always on, one span);
* ``slow_cycle``   - a stretch of cycles a few per cent slower, within tolerance;
* ``nudge``        - the camera nudged by about a pixel: a persistent shift of the whole image.

Besides these, the nuisance of the generator's training footage runs all shift long (light
flicker and drift of minutes, the wandering light spot, camera jitter) and, on R01-R04, the real
domain (texture, colour cast, blur, noise, perspective, JPEG at ``synth.real_jpeg_quality``): a
shift frame is made exactly as the device's training frames are, plus the events.

Injected anomalies (``ShiftConfig.anomalies_per_hour`` > 0 or :func:`plan_shift`'s ``anomalies``)
reuse the generator's renderers: a timeline anomaly (``pause``: the machine stops mid-cycle, a jam;
``speed``, ``order``, ``missing_step``) or a look anomaly (``color``, ``shape``, ...) in one cycle,
with frame labels as in the test videos (a look anomaly counts where the wrong object is visible).
Cycle-level events (a stop, a slow stretch, an anomaly) start at the first cycle start after their
nominal time; :attr:`ShiftRecording.events` holds the spans as rendered.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from ...errors import ConfigError
from ...settings.synth import Shift
from .anomalies import ANOMALY_TYPES, LOOK_TYPES, TIMELINE_TYPES, Look, LookBook
from .canvas import Canvas
from .devices import DEVICES, Device
from .nuisance import Nuisance, texture_background
from .render import CODES, RenderConfig, _event_params, cycle_frames, stream
from .scenes import SCENES
from .timeline import State, build_timeline

EVERYDAY = ("light_switch", "walker", "planned_stop", "light_drift", "slow_cycle", "nudge")
# what the detector should do with each everyday event (docs/alerts: tolerate them all; see TOLERANCE)
TOLERANCE = {
    "light_switch": "tolerate",
    "walker": "tolerate",
    "planned_stop": "tolerate",
    "light_drift": "tolerate",
    "slow_cycle": "tolerate",
    "nudge": "tolerate",
}


_SHIFT = Shift.model_fields  # the defaults are the schema's (settings/synth.py): one place


@dataclass(frozen=True)
class ShiftConfig:
    """``synth.shift`` as the generator uses it (its meanings and defaults: settings/synth.Shift); ranges
    as (low, high) tuples."""

    hours: float = _SHIFT["hours"].default
    chunk_frames: int = _SHIFT["chunk_frames"].default
    light_switches_per_hour: float = _SHIFT["light_switches_per_hour"].default
    light_switch_step: tuple[float, float] = tuple(_SHIFT["light_switch_step"].default)
    walkers_per_hour: float = _SHIFT["walkers_per_hour"].default
    walker_seconds: tuple[float, float] = tuple(_SHIFT["walker_seconds"].default)
    walker_height: float = _SHIFT["walker_height"].default
    stops_per_hour: float = _SHIFT["stops_per_hour"].default
    stop_minutes: tuple[float, float] = tuple(_SHIFT["stop_minutes"].default)
    drift_amplitude: float = _SHIFT["drift_amplitude"].default
    drift_hours: float = _SHIFT["drift_hours"].default
    slow_stretches_per_hour: float = _SHIFT["slow_stretches_per_hour"].default
    slow_minutes: tuple[float, float] = tuple(_SHIFT["slow_minutes"].default)
    slow_factor: tuple[float, float] = tuple(_SHIFT["slow_factor"].default)
    nudges_per_hour: float = _SHIFT["nudges_per_hour"].default
    nudge_pixels: float = _SHIFT["nudge_pixels"].default
    jitter_frames: float = _SHIFT["jitter_frames"].default
    anomalies_per_hour: float = _SHIFT["anomalies_per_hour"].default
    anomaly_types: tuple[str, ...] = tuple(_SHIFT["anomaly_types"].default)  # () = every type the device supports

    @classmethod
    def from_params(cls, p: dict | None, **overrides) -> ShiftConfig:
        """The ``synth.shift`` section `p` (None: the defaults) checked by its schema, with `overrides`
        (None: the section's) over it."""
        from ...params_schema import validate_section

        p = {**(p or {}), **{k: v for k, v in overrides.items() if v is not None}}
        s = validate_section(Shift, p, "synth.shift settings", "synth.shift")
        bad = [t for t in s.anomaly_types if t not in ANOMALY_TYPES]
        if bad:
            raise ConfigError(f"synth.shift.anomaly_types: unknown {bad}; known: {list(ANOMALY_TYPES)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in dict(s).items()})


@dataclass
class ShiftEvent:
    kind: str  # an EVERYDAY kind, or "anomaly"
    start: int  # first frame
    end: int  # last frame + 1
    params: dict = field(default_factory=dict)

    @property
    def anomaly(self) -> bool:
        return self.kind == "anomaly"

    def to_dict(self, fps: float) -> dict:
        return {
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "start_s": round(self.start / fps, 2),
            "end_s": round(self.end / fps, 2),
            **self.params,
        }


@dataclass
class ShiftPlan:
    scene: str
    seed: int
    n_frames: int
    fps: float
    events: list[ShiftEvent]  # nominal spans
    shift: int = (
        0  # which shift of the device (independent random streams) (cycle-level ones start at the next cycle start)
    )


@dataclass
class ShiftChunk:
    start: int  # index of the first frame in the shift
    frames: np.ndarray  # (n, H, W, 3) uint8 RGB
    labels: np.ndarray  # (n,) uint8: 1 where an injected anomaly is visible
    types: np.ndarray  # (n,) int16 anomaly code (0: normal)


def _rng(seed: int, scene: str, shift: int, purpose: str) -> np.random.Generator:
    return np.random.default_rng(
        np.random.SeedSequence(
            [seed, zlib.crc32(scene.encode()), zlib.crc32(b"shift"), shift, zlib.crc32(purpose.encode())]
        )
    )


def _poisson_times(rng: np.random.Generator, per_hour: float, n_frames: int, fps: float, margin: int) -> list[int]:
    """Event start frames of a Poisson process at `per_hour`, at least `margin` frames from the ends."""
    n = int(rng.poisson(per_hour * n_frames / fps / 3600.0))
    lo, hi = margin, max(margin + 1, n_frames - margin)
    return sorted(int(t) for t in rng.integers(lo, hi, n))


def _everyday_event(kind: str, t: int, rng: np.random.Generator, cfg: ShiftConfig, fps: float, n: int) -> ShiftEvent:
    u = lambda r: float(rng.uniform(*r))  # noqa: E731
    if kind == "light_switch":
        return ShiftEvent(kind, t, t + 1, {"step": float(rng.choice([-1, 1])) * u(cfg.light_switch_step)})
    if kind == "walker":
        length = max(2, int(round(u(cfg.walker_seconds) * fps)))
        return ShiftEvent(
            kind, t, min(n, t + length), {"direction": int(rng.choice([-1, 1])), "shade": int(rng.integers(40, 110))}
        )
    if kind == "nudge":
        a = float(rng.uniform(0, 2 * np.pi))
        return ShiftEvent(kind, t, t + 1, {"dx": cfg.nudge_pixels * np.cos(a), "dy": cfg.nudge_pixels * np.sin(a)})
    if kind == "planned_stop":
        return ShiftEvent(kind, t, min(n, t + int(u(cfg.stop_minutes) * 60 * fps)))
    return ShiftEvent(kind, t, min(n, t + int(u(cfg.slow_minutes) * 60 * fps)), {"factor": u(cfg.slow_factor)})


def plan_shift(
    scene: str,
    cfg: ShiftConfig,
    render: RenderConfig,
    seed: int,
    shift: int = 0,
    anomalies: list[tuple[float, str]] | None = None,
    everyday: tuple[str, ...] | None = None,
    at: list[tuple[float, str]] | None = None,
) -> ShiftPlan:
    """Every event of shift number `shift` of `scene`. `anomalies`: (nominal second, type) to inject
    (default: ``cfg.anomalies_per_hour`` at random times); `everyday`: the everyday kinds scheduled at
    random (default: all, light drift included); `at`: (nominal second, kind) everyday events
    scheduled besides them."""
    if scene not in SCENES:
        raise ConfigError(f"shift: unknown scene {scene!r}; known: {list(SCENES)}")
    fps = render.fps
    n = int(round(cfg.hours * 3600 * fps))
    kinds = EVERYDAY if everyday is None else everyday
    bad = [k for k in kinds if k not in EVERYDAY]
    if bad:
        raise ConfigError(f"shift: unknown everyday events {bad}; known: {list(EVERYDAY)}")
    rng = _rng(seed, scene, shift, "plan")
    margin = int(30 * fps)
    ev: list[ShiftEvent] = []
    if "light_drift" in kinds:
        ev.append(
            ShiftEvent(
                "light_drift",
                0,
                n,
                {
                    "amplitude": cfg.drift_amplitude,
                    "period_s": cfg.drift_hours * 3600,
                    "phase": float(rng.uniform(0, 2 * np.pi)),
                },
            )
        )
    for kind in ("light_switch", "walker", "nudge", "planned_stop", "slow_cycle"):
        if kind in kinds:
            rate = {
                "light_switch": cfg.light_switches_per_hour,
                "walker": cfg.walkers_per_hour,
                "nudge": cfg.nudges_per_hour,
                "planned_stop": cfg.stops_per_hour,
                "slow_cycle": cfg.slow_stretches_per_hour,
            }[kind]
            ev += [_everyday_event(kind, t, rng, cfg, fps, n) for t in _poisson_times(rng, rate, n, fps, margin)]
    for sec, kind in at or ():
        if kind not in EVERYDAY or kind == "light_drift":
            raise ConfigError(f"shift: cannot schedule {kind!r}; known: {[k for k in EVERYDAY if k != 'light_drift']}")
        ev.append(_everyday_event(kind, int(round(sec * fps)), rng, cfg, fps, n))
    device = DEVICES[SCENES[scene].device]()
    types = tuple(cfg.anomaly_types) or tuple(device.anomalies)
    if anomalies is None:
        arng = _rng(seed, scene, shift, "anomalies")
        times = _poisson_times(arng, cfg.anomalies_per_hour, n, fps, margin)
        anomalies = [(t / fps, types[i % len(types)]) for i, t in enumerate(times)]
    prng = _rng(seed, scene, shift, "anomaly_params")
    for sec, kind in anomalies:
        if kind not in device.anomalies:
            raise ConfigError(
                f"shift: {scene} ({device.name}) has no {kind!r} anomaly; it has {list(device.anomalies)}"
            )
        t = int(round(sec * fps))
        ev.append(ShiftEvent("anomaly", t, t + 1, {"type": kind, **_event_params(device, kind, prng)}))
    ev.sort(key=lambda e: (e.start, e.kind))
    return ShiftPlan(scene, seed, n, fps, ev, shift)


class _Looks:
    """Normal looks made per cycle on demand (deterministic per cycle), anomalous ones where planned."""

    def __init__(self, device: Device, seed: int, scene: str, shift: int):
        self.device, self.key = device, (seed, scene, shift)
        self.cache: dict[int, Look] = {}
        self.anomalous: dict[int, Look] = {}

    def normal(self, c: int) -> Look:
        if c not in self.cache:
            if len(self.cache) > 64:
                for k in sorted(self.cache)[:32]:
                    del self.cache[k]
            self.cache[c] = self.device.normal_look(_rng(self.key[0], self.key[1], self.key[2], f"look{c}"))
        return self.cache[c]

    def get(self, c: int):
        return self.anomalous.get(c) or self.normal(c)


class ShiftRecording:
    """Render a planned shift as an iterator of :class:`ShiftChunk`; ``events`` fills in as rendered."""

    def __init__(self, plan: ShiftPlan, cfg: ShiftConfig, render: RenderConfig, jpeg_quality: int | None = None):
        self.plan, self.cfg, self.render = plan, cfg, render
        spec = SCENES[plan.scene]
        self.device = DEVICES[spec.device]()
        self.shift_cfg = render.domain_shift if spec.domain == "real" else None
        self.jpeg_quality = jpeg_quality
        self.events: list[ShiftEvent] = [
            e for e in plan.events if e.kind in ("light_switch", "walker", "nudge", "light_drift")
        ]
        self.n_frames = plan.n_frames
        self.cycle_starts: list[int] = []  # the first frame of every cycle, filled in as rendered

    def __len__(self) -> int:
        return self.n_frames

    def __iter__(self) -> Iterator[ShiftChunk]:
        return self._chunks()

    # -- per-frame illumination and camera position --------------------------------------------
    def _lighting(self, seed_rng: np.random.Generator):
        p = self.plan
        period = seed_rng.uniform(120, 400)  # the training footage's light drift of minutes, all shift long
        ph = seed_rng.uniform(0, 2 * np.pi)
        a, b = seed_rng.uniform(0, 2 * np.pi, 2)
        steps = sorted((e.start, e.params["step"]) for e in p.events if e.kind == "light_switch")
        drift = next((e.params for e in p.events if e.kind == "light_drift"), None)
        nudges = sorted((e.start, e.params["dx"], e.params["dy"]) for e in p.events if e.kind == "nudge")
        return period, ph, a, b, steps, drift, nudges

    def _chunks(self) -> Iterator[ShiftChunk]:
        p, cfg, render = self.plan, self.cfg, self.render
        h, w = render.size
        fps, n_total = p.fps, p.n_frames
        device = self.device
        spec = SCENES[p.scene]
        L0 = cycle_frames(spec, render)
        fracs = [f for _, f in device.steps]
        nz_rng = _rng(p.seed, p.scene, p.shift, "nuisance")
        nz = Nuisance(h, w, 1, _rng(p.seed, p.scene, p.shift, "camera"), render.nuisance, self.shift_cfg)
        bg = device.background(h, w)
        if self.shift_cfg is not None:
            bg = texture_background(bg, stream(p.seed, p.scene, "", 0, "scene"), self.shift_cfg.texture)
        period, ph, sa, sb, steps, drift, nudges = self._lighting(nz_rng)
        timeline_rng = _rng(p.seed, p.scene, p.shift, "timeline")
        anomaly_rng = _rng(p.seed, p.scene, p.shift, "anomaly_looks")
        looks = _Looks(device, p.seed, p.scene, p.shift)
        book = LookBook(looks, looks.normal)
        normal_book = LookBook(_NormalOnly(looks), looks.normal)
        pending = [e for e in p.events if e.kind in ("planned_stop", "slow_cycle", "anomaly")]
        walkers = [e for e in p.events if e.kind == "walker"]
        jitter_std = render.nuisance.jitter * w
        rho = float(np.exp(-1.0 / max(cfg.jitter_frames, 1.0)))
        jit = nz_rng.standard_normal(2) * jitter_std
        slow_until, slow_factor = -1, 1.0
        codes = CODES

        buf_f: list[np.ndarray] = []
        buf_l: list[int] = []
        buf_t: list[int] = []
        frame = 0
        chunk_start = 0
        cycle = 0

        def emit(state: State, label: int, code: int, drawn_check: bool):
            nonlocal frame, jit
            canvas = Canvas(bg)
            book.start_frame()
            device.draw(canvas, state, book)
            if drawn_check and book.drawn:
                ref = Canvas(bg)
                device.draw(ref, state, normal_book)
                if not np.array_equal(ref.img, canvas.img):
                    label, code = 1, code or max(codes[k] for k in book.drawn)
            for e in walkers:
                if e.start <= frame < e.end:
                    _draw_walker(canvas, (frame - e.start + 0.5) / (e.end - e.start), e.params, cfg.walker_height)
            g = 1 + render.nuisance.light_drift * np.sin(2 * np.pi * frame / period + ph)
            g += render.nuisance.flicker * nz_rng.standard_normal()
            g += sum(s for t, s in steps if t <= frame)
            if drift:
                g += drift["amplitude"] * np.sin(2 * np.pi * frame / fps / drift["period_s"] + drift["phase"])
            jit = rho * jit + np.sqrt(1 - rho * rho) * jitter_std * nz_rng.standard_normal(2)
            off = jit + sum((np.array([dx, dy]) * w / 64 for t, dx, dy in nudges if t <= frame), np.zeros(2))
            nz.gain = np.array([g])
            nz.spot_xy = np.array(
                [
                    [
                        0.5 + 0.35 * np.sin(2 * np.pi * frame / (period * 0.7) + sa),
                        0.4 + 0.3 * np.sin(2 * np.pi * frame / (period * 1.3) + sb),
                    ]
                ]
            )
            nz.jitter = off[None]
            nz.noise_seeds = nz_rng.integers(0, 2**31, 1)
            img = nz.apply(0, canvas.img)
            if self.jpeg_quality:
                ok, enc = cv2.imencode(
                    ".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality]
                )
                img = cv2.cvtColor(cv2.imdecode(enc, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            buf_f.append(img)
            buf_l.append(label)
            buf_t.append(code)
            frame += 1

        while frame < n_total:
            # cycle-level events due at this cycle start
            due = [e for e in pending if e.start <= frame]
            pending = [e for e in pending if e.start > frame]
            events: dict[int, tuple[str, dict]] = {}
            for e in due:
                if e.kind == "planned_stop":
                    length = e.end - e.start
                    start = frame
                    home = State(cycle, 0, 0.0, 0.0)
                    for _ in range(min(length, n_total - frame)):
                        emit(home, 0, 0, False)
                        if len(buf_f) >= cfg.chunk_frames:
                            yield ShiftChunk(
                                chunk_start, np.stack(buf_f), np.asarray(buf_l, np.uint8), np.asarray(buf_t, np.int16)
                            )
                            chunk_start += len(buf_f)
                            buf_f.clear(), buf_l.clear(), buf_t.clear()
                    self.events.append(ShiftEvent("planned_stop", start, frame))
                elif e.kind == "slow_cycle":
                    slow_until, slow_factor = frame + (e.end - e.start), e.params["factor"]
                    self.events.append(ShiftEvent("slow_cycle", frame, min(n_total, slow_until), dict(e.params)))
                else:
                    events[0] = (e.params["type"], {k: v for k, v in e.params.items() if k != "type"})
            if frame >= n_total:
                break
            factor = slow_factor if frame < slow_until else 1.0
            L = max(8, int(round(L0 * factor)))
            kind = events.get(0, (None, {}))[0]
            tl_events = {0: events[0]} if kind in TIMELINE_TYPES else {}
            tl = build_timeline(fracs, L, 1, timeline_rng, render.cycle_jitter, tl_events, codes)
            if kind in LOOK_TYPES:
                looks.anomalous[cycle] = device.anomalous_look(looks.normal(cycle), kind, anomaly_rng)
            start = frame
            self.cycle_starts.append(start)
            for i, s in enumerate(tl.states):
                if frame >= n_total:
                    break
                emit(State(cycle, s.step, s.u, s.phase), int(tl.labels[i]), int(tl.types[i]), kind in LOOK_TYPES)
                if len(buf_f) >= cfg.chunk_frames:
                    yield ShiftChunk(
                        chunk_start, np.stack(buf_f), np.asarray(buf_l, np.uint8), np.asarray(buf_t, np.int16)
                    )
                    chunk_start += len(buf_f)
                    buf_f.clear(), buf_l.clear(), buf_t.clear()
            if kind is not None:
                self.events.append(ShiftEvent("anomaly", start, frame, {"type": kind}))
            looks.anomalous.pop(cycle - 8, None)
            cycle += 1
            if len(buf_f) >= cfg.chunk_frames:
                yield ShiftChunk(chunk_start, np.stack(buf_f), np.asarray(buf_l, np.uint8), np.asarray(buf_t, np.int16))
                chunk_start += len(buf_f)
                buf_f.clear(), buf_l.clear(), buf_t.clear()
        if buf_f:
            yield ShiftChunk(chunk_start, np.stack(buf_f), np.asarray(buf_l, np.uint8), np.asarray(buf_t, np.int16))
        self.events.sort(key=lambda e: (e.start, e.kind))


class _NormalOnly:
    def __init__(self, looks: _Looks):
        self.looks = looks

    def get(self, c: int):
        return self.looks.normal(c)


def _draw_walker(c: Canvas, progress: float, params: dict, height: float) -> None:
    """A person-sized figure (head, body, legs) crossing the frame; progress in [0, 1]."""
    x = -0.15 + 1.3 * progress if params["direction"] > 0 else 1.15 - 1.3 * progress
    shade = params["shade"]
    body, skin = (shade, shade + 10, shade + 25), (190, 150, 120)
    top = 0.9 - height
    c.circle(x, top + 0.06, 0.045, skin)
    c.rect(x - 0.06, top + 0.11, x + 0.06, top + 0.55 * height + 0.11, body)
    swing = 0.03 * np.sin(progress * 40)
    c.line((x - 0.02, top + 0.55 * height + 0.1), (x - 0.03 + swing, 0.9), (40, 40, 50), 0.035)
    c.line((x + 0.02, top + 0.55 * height + 0.1), (x + 0.03 - swing, 0.9), (40, 40, 50), 0.035)


def shift_recording(
    scene: str,
    synth_params: dict,
    seed: int,
    shift: int = 0,
    hours: float | None = None,
    anomalies: list[tuple[float, str]] | None = None,
    everyday: tuple[str, ...] | None = None,
    at: list[tuple[float, str]] | None = None,
    **shift_overrides,
) -> ShiftRecording:
    """A shift of `scene` made as the generator at `synth_params` (params.yaml's ``synth``) makes its
    footage: same size, fps, nuisance, domain and JPEG quality; ``synth.shift`` for the events."""
    from .generator import SynthConfig

    sc = SynthConfig.from_params(synth_params)
    cfg = ShiftConfig.from_params(synth_params.get("shift"), hours=hours, **shift_overrides)
    quality = sc.real_jpeg_quality if SCENES[scene].domain == "real" else sc.jpeg_quality
    plan = plan_shift(scene, cfg, sc.render, seed, shift, anomalies, everyday, at)
    return ShiftRecording(plan, cfg, sc.render, quality)
