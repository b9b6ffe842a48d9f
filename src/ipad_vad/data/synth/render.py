"""Plan and render one video of a scene: timeline, per-cycle looks, nuisance, labels.

Randomness comes from independent streams per (seed, scene, split, video, purpose), so a video is
the same whatever else is generated, in whatever order or process, and rendering it with some
anomalies dropped (``drop=``) changes nothing else: that counterfactual is how the tests check that
each anomaly changes exactly its labelled frames.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .anomalies import ANOMALY_TYPES, LOOK_TYPES, TIMELINE_TYPES, Look, LookBook
from .canvas import Canvas
from .devices import DEVICES, Device
from .nuisance import DomainShiftConfig, Nuisance, NuisanceConfig, texture_background
from .scenes import SCENES, SceneSpec
from .timeline import State, Timeline, build_timeline

_PURPOSES = {"plan": 0, "timeline": 1, "looks": 2, "nuisance": 3, "scene": 4, "anomaly": 5}
CODES = {k: v["code"] for k, v in ANOMALY_TYPES.items()}


def stream(seed: int, scene: str, split: str = "", video: int = 0, purpose: str = "plan") -> np.random.Generator:
    ss = np.random.SeedSequence(
        [seed, zlib.crc32(scene.encode()), zlib.crc32(split.encode()), video, _PURPOSES[purpose]]
    )
    return np.random.default_rng(ss)


@dataclass(frozen=True)
class RenderConfig:
    size: tuple[int, int] = (64, 64)
    fps: float = 3.0
    cycle_jitter: float = 0.03
    nuisance: NuisanceConfig = field(default_factory=NuisanceConfig)
    domain_shift: DomainShiftConfig = field(default_factory=DomainShiftConfig)


@dataclass
class VideoPlan:
    scene: str
    split: str
    video: int  # 1-based
    n_cycles: int
    events: dict[int, tuple[str, dict]]  # cycle -> (anomaly type, parameters)
    kind: str  # "normal", "mixed", "abnormal"


@dataclass
class RenderedVideo:
    plan: VideoPlan
    frames: list[np.ndarray]  # RGB uint8
    labels: np.ndarray
    types: np.ndarray
    timeline: Timeline

    @property
    def cycle_starts(self) -> list[int]:
        return self.timeline.cycle_starts


def cycle_frames(spec: SceneSpec, cfg: RenderConfig) -> int:
    return max(8, int(round(spec.cycle_seconds * cfg.fps)))


def _event_params(device: Device, kind: str, rng: np.random.Generator) -> dict:
    if kind == "pause":
        return {"at": float(rng.uniform(0.2, 0.7)), "length": float(rng.uniform(0.4, 0.8))}
    if kind == "speed":
        start = float(rng.uniform(0.1, 0.4))
        return {"start": start, "end": start + float(rng.uniform(0.35, 0.5)), "factor": float(rng.choice([2.2, 0.45]))}
    if kind == "order":
        return {"swap": tuple(int(v) for v in device.swappable[int(rng.integers(len(device.swappable)))])}
    if kind == "missing_step":
        return {"skip": int(device.skippable[int(rng.integers(len(device.skippable)))])}
    return {}


def plan_test_videos(scene: str, device: Device, n_videos: int, cycles_short: int, seed: int) -> list[VideoPlan]:
    """IPAD-like mix: video 01 all normal, the last one all abnormal (a look anomaly in every cycle),
    the others mixed, covering every anomaly type the device supports, separated by normal cycles."""
    rng = stream(seed, scene, "testing", 0, "plan")
    kinds = list(device.anomalies)
    rng.shuffle(kinds)
    plans = [VideoPlan(scene, "testing", 1, cycles_short, {}, "normal")]
    n_mixed = max(1, n_videos - 2)
    buckets = [kinds[i::n_mixed] for i in range(n_mixed)]
    for i, bucket in enumerate(buckets):
        events = {2 * j + 1: (k, _event_params(device, k, rng)) for j, k in enumerate(bucket)}
        plans.append(VideoPlan(scene, "testing", i + 2, 2 * len(bucket) + 1, events, "mixed"))
    if n_videos >= 3:
        look_kinds = [k for k in kinds if k in ("color", "shape", "shift", "tilt")]
        k = look_kinds[0]
        plans.append(
            VideoPlan(
                scene, "testing", len(plans) + 1, cycles_short, {c: (k, {}) for c in range(cycles_short)}, "abnormal"
            )
        )
    return plans[:n_videos] if n_videos >= 2 else plans[:1]


def render_video(
    plan: VideoPlan,
    cfg: RenderConfig,
    seed: int,
    drop: tuple[str, ...] = (),
    nuisance: bool = True,
    canvas_cls: type[Canvas] = Canvas,
    on_frame: Callable[[int, State, Canvas, LookBook], None] | None = None,
) -> RenderedVideo:
    """Render `plan`. `drop` lists anomaly types to leave out (counterfactual renders). `canvas_cls` and
    `on_frame` (called with each frame's index, timeline state, canvas and looks once the device has
    drawn) let a caller see what was drawn where (``captions.py``); they change no pixel."""
    spec = SCENES[plan.scene]
    device = DEVICES[spec.device]()
    h, w = cfg.size
    events = {c: e for c, e in plan.events.items() if e[0] not in drop}
    timeline_events = {c: e for c, e in events.items() if e[0] in TIMELINE_TYPES}
    timeline = build_timeline(
        [f for _, f in device.steps],
        cycle_frames(spec, cfg),
        plan.n_cycles,
        stream(seed, plan.scene, plan.split, plan.video, "timeline"),
        cfg.cycle_jitter,
        timeline_events,
        CODES,
    )
    look_rng = stream(seed, plan.scene, plan.split, plan.video, "looks")
    normal = {c: device.normal_look(look_rng) for c in range(-8, plan.n_cycles + 2)}
    anomaly_rng = stream(seed, plan.scene, plan.split, plan.video, "anomaly")
    looks: dict[int, Look] = dict(normal)
    for c, (kind, _) in sorted(events.items()):
        if kind in LOOK_TYPES:
            looks[c] = device.anomalous_look(normal[c], kind, anomaly_rng)
    default = lambda c: normal.get(c) or next(iter(normal.values()))  # noqa: E731
    book = LookBook(looks, default)
    normal_book = LookBook(normal, default)

    scene_rng = stream(seed, plan.scene, "", 0, "scene")
    shift = cfg.domain_shift if spec.domain == "real" else None
    bg = device.background(h, w)
    if shift is not None:
        bg = texture_background(bg, scene_rng, shift.texture)
    nz = (
        Nuisance(h, w, len(timeline), stream(seed, plan.scene, plan.split, plan.video, "nuisance"), cfg.nuisance, shift)
        if nuisance
        else None
    )

    frames, labels, types = [], timeline.labels.copy(), timeline.types.copy()
    for f, state in enumerate(timeline.states):
        canvas = canvas_cls(bg)
        book.start_frame()
        device.draw(canvas, state, book)
        if on_frame is not None:
            on_frame(f, state, canvas, book)
        if book.drawn:
            # an anomalous look counts only where it is visible: compare with a normal-look redraw
            ref = Canvas(bg)
            device.draw(ref, state, normal_book)
            if not np.array_equal(ref.img, canvas.img):
                labels[f] = 1
                types[f] = types[f] or max(CODES[k] for k in book.drawn)
        frames.append(nz.apply(f, canvas.img) if nz is not None else canvas.img)
    return RenderedVideo(plan, frames, labels, types, timeline)
