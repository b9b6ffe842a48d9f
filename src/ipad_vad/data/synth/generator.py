"""Write a synthetic IPAD-like dataset (DESIGN §4) in the IPAD layout::

    <out>/<scene>/training/frames/<NN>/<i>.jpg      normal footage only
    <out>/<scene>/testing/frames/<NN>/<i>.jpg
    <out>/<scene>/test_label/<NNN>.npy              0/1 per frame
    <out>/<scene>/test_types/<NNN>.npy              anomaly code per frame (0 = normal)
    <out>/<scene>/calibration/frames/01/<i>.jpg     long normal footage (``calibration_minutes``: a shift
                                                    of ``shift``'s everyday events, no anomaly),
                                                    calibration_scenes only
    <out>/<scene>/periods/<split>_<NN>.json         {"cycle_starts": [...], "fps": ...}
    <out>/<scene>/scene.json                        device, domain, twin, nominal cycle length
    <out>/<scene>/videos/<split>_<NN>.mp4           optional (``write_mp4``), for the decord path
    <out>/anomaly_types.json                        code -> name, family
    <out>/synth.json                                the settings it was generated with

Deterministic per seed: same settings, same bytes (JPEG encoding included). Videos are rendered in
parallel worker processes; the dataset is assembled in a temporary folder and renamed into place, so
an interrupted run leaves nothing half written.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from ...errors import ConfigError
from ...io_utils import atomic_dir, write_json
from ...settings.synth import Synth
from ..layout import label_file_name, period_file_name
from .anomalies import ANOMALY_TYPES
from .devices import DEVICES
from .nuisance import DomainShiftConfig, NuisanceConfig
from .render import RenderConfig, VideoPlan, cycle_frames, plan_test_videos, render_video
from .scenes import SCENES
from .shift import ShiftConfig

_SYNTH = Synth.model_fields  # the defaults are the schema's (settings/synth.py): one place


@dataclass(frozen=True)
class SynthConfig:
    """The ``synth:`` section as the generator uses it (its meanings and defaults: settings/synth.py)."""

    scenes: tuple[str, ...] = tuple(SCENES)  # synth.scenes None: every scene the generator knows
    seed: int = _SYNTH["seed"].default
    size: tuple[int, int] = tuple(_SYNTH["size"].default)
    fps: float = _SYNTH["fps"].default
    cycle_jitter: float = _SYNTH["cycle_jitter"].default
    train_videos: int = _SYNTH["train_videos"].default
    train_cycles: int = _SYNTH["train_cycles"].default
    test_videos: int = _SYNTH["test_videos"].default
    test_cycles: int = _SYNTH["test_cycles"].default
    jpeg_quality: int = _SYNTH["jpeg_quality"].default
    real_jpeg_quality: int = _SYNTH["real_jpeg_quality"].default
    write_mp4: bool = _SYNTH["write_mp4"].default
    calibration_minutes: float = _SYNTH["calibration_minutes"].default
    calibration_scenes: tuple[str, ...] = ()
    workers: int = _SYNTH["workers"].default
    nuisance: NuisanceConfig = field(default_factory=NuisanceConfig)
    domain_shift: DomainShiftConfig = field(default_factory=DomainShiftConfig)
    shift: ShiftConfig = field(default_factory=ShiftConfig)  # the calibration footage's everyday events

    @classmethod
    def from_params(cls, p: dict, **overrides) -> SynthConfig:
        """The ``synth:`` section `p` (or a synth.json's ``config``) checked by its schema, with
        `overrides` (None: the section's) over it; ``out`` (the CLI's folder) is not a setting here."""
        from ...params_schema import validate_section

        p = {k: v for k, v in {**p, **{k: v for k, v in overrides.items() if v is not None}}.items() if k != "out"}
        s = validate_section(Synth, p, "synth settings", "synth")
        scenes = tuple(SCENES) if s.scenes is None else tuple(s.scenes)
        bad = [x for x in scenes if x not in SCENES]
        if bad:
            raise ConfigError(f"synth.scenes: unknown scenes {bad}; known: {list(SCENES)}")
        bad = [x for x in s.calibration_scenes if x not in SCENES]
        if bad:
            raise ConfigError(f"synth.calibration_scenes: unknown scenes {bad}; known: {list(SCENES)}")
        return cls(
            **{
                **dict(s),
                "scenes": scenes,
                "calibration_scenes": tuple(s.calibration_scenes),
                "size": tuple(s.size),
                "nuisance": NuisanceConfig(**dict(s.nuisance)),
                "domain_shift": DomainShiftConfig(**{**dict(s.domain_shift), "cast": tuple(s.domain_shift.cast)}),
                "shift": ShiftConfig.from_params(s.shift.model_dump()),
            }
        )

    @property
    def render(self) -> RenderConfig:
        return RenderConfig(self.size, self.fps, self.cycle_jitter, self.nuisance, self.domain_shift)


def plans_for(cfg: SynthConfig) -> list[VideoPlan]:
    plans = []
    for scene in cfg.scenes:
        device = DEVICES[SCENES[scene].device]()
        plans += [
            VideoPlan(scene, "training", v, cfg.train_cycles, {}, "normal") for v in range(1, cfg.train_videos + 1)
        ]
        plans += plan_test_videos(scene, device, cfg.test_videos, cfg.test_cycles, cfg.seed)
    return plans


def calibration_scenes(cfg: SynthConfig) -> list[str]:
    """The scenes that get calibration footage: ``calibration_scenes`` among those generated (none
    when ``calibration_minutes`` is 0)."""
    if cfg.calibration_minutes <= 0:
        return []
    return [s for s in cfg.scenes if s in cfg.calibration_scenes]


def _npy_bytes(arr: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


CALIBRATION_SHIFT = 2  # shift number of the calibration footage: streams apart from bench_alerts' shifts 0 and 1


def _quality(cfg: SynthConfig, scene: str) -> int:
    return cfg.real_jpeg_quality if SCENES[scene].domain == "real" else cfg.jpeg_quality


def _write_frames(fdir: Path, frames: Iterable[np.ndarray], quality: int, start: int = 0) -> int:
    """Frames as JPEGs numbered from `start`; the number after the last one written."""
    fdir.mkdir(parents=True, exist_ok=True)
    i = start - 1  # nothing written: `start` comes next
    for i, frame in enumerate(frames, start):
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert ok
        (fdir / f"{i}.jpg").write_bytes(buf.tobytes())
    return i + 1


def _write_periods(sd: Path, split: str, nn: str, cycle_starts, cfg: SynthConfig, scene: str) -> None:
    (sd / "periods").mkdir(exist_ok=True)
    (sd / "periods" / period_file_name(split, nn)).write_text(
        json.dumps(
            {
                "cycle_starts": [int(s) for s in cycle_starts],
                "fps": cfg.fps,
                "nominal_cycle_frames": cycle_frames(SCENES[scene], cfg.render),
            }
        )
    )


def _write_video(job: tuple[VideoPlan, SynthConfig, str]) -> dict:
    plan, cfg, root = job
    root_p = Path(root)
    v = render_video(plan, cfg.render, cfg.seed)
    nn = f"{plan.video:02d}"
    sd = root_p / plan.scene
    _write_frames(sd / plan.split / "frames" / nn, v.frames, _quality(cfg, plan.scene))
    if plan.split == "testing":
        (sd / "test_label").mkdir(exist_ok=True)
        (sd / "test_types").mkdir(exist_ok=True)
        (sd / "test_label" / label_file_name(nn)).write_bytes(_npy_bytes(v.labels.astype(np.uint8)))
        (sd / "test_types" / label_file_name(nn)).write_bytes(_npy_bytes(v.types.astype(np.int16)))
    _write_periods(sd, plan.split, nn, v.cycle_starts, cfg, plan.scene)
    if cfg.write_mp4:
        (sd / "videos").mkdir(exist_ok=True)
        h, w = cfg.size
        wr = cv2.VideoWriter(
            str(sd / "videos" / f"{plan.split}_{nn}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), cfg.fps, (w, h)
        )
        for frame in v.frames:
            wr.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        wr.release()
    return {
        "scene": plan.scene,
        "split": plan.split,
        "video": nn,
        "kind": plan.kind,
        "n_frames": len(v.frames),
        "n_anomalous": int(v.labels.sum()),
        "events": {str(c): e[0] for c, e in plan.events.items()},
    }


def _write_calibration(job: tuple[str, SynthConfig, str]) -> dict:
    """``calibration_minutes`` of a shift of `scene` (data/synth/shift.py: its everyday events, no
    anomaly) as ``<scene>/calibration/frames/01``, made as its training footage is."""
    from .shift import ShiftRecording, plan_shift

    scene, cfg, root = job
    shift_cfg = replace(cfg.shift, hours=cfg.calibration_minutes / 60.0)
    rec = ShiftRecording(plan_shift(scene, shift_cfg, cfg.render, cfg.seed, CALIBRATION_SHIFT), shift_cfg, cfg.render)
    sd, n = Path(root) / scene, 0
    for chunk in rec:  # raw frames: JPEG-encoded once, here, at the scene's quality
        n = _write_frames(sd / "calibration" / "frames" / "01", chunk.frames, _quality(cfg, scene), chunk.start)
    _write_periods(sd, "calibration", "01", rec.cycle_starts, cfg, scene)
    return {
        "scene": scene,
        "split": "calibration",
        "video": "01",
        "kind": "calibration",
        "n_frames": n,
        "n_anomalous": 0,
        "events": [e.to_dict(cfg.fps) for e in rec.events],
    }


def _write_job(job: tuple) -> dict:
    return _write_video(job) if isinstance(job[0], VideoPlan) else _write_calibration(job)


def generate(
    out: str | Path,
    cfg: SynthConfig,
    force: bool = False,
    progress: Callable[[Iterable, int, str], Iterable] | None = None,
) -> dict:
    """Generate the dataset into `out`. Refuses to touch an existing `out` unless `force`, and even
    then replaces it only after the new dataset is complete."""
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise ConfigError(f"{out}: exists and is not empty (use --force to replace it)")
    plans = plans_for(cfg)
    staging = out.with_name(out.name + ".new")
    if staging.exists():
        shutil.rmtree(staging)
    with atomic_dir(staging) as tmp:
        for scene in cfg.scenes:
            spec = SCENES[scene]
            write_json(
                tmp / scene / "scene.json",
                {
                    **asdict(spec),
                    "device_description": DEVICES[spec.device].description,
                    "nominal_cycle_frames": cycle_frames(spec, cfg.render),
                },
            )
        jobs: list[tuple] = [(s, cfg, str(tmp)) for s in calibration_scenes(cfg)]  # the longest first
        jobs += [(p, cfg, str(tmp)) for p in plans]
        workers = max(1, min(cfg.workers, os.cpu_count() or 1, len(jobs)))
        if workers > 1:
            with ProcessPoolExecutor(workers) as ex:
                results = ex.map(_write_job, jobs, chunksize=1)
                results = list(progress(results, len(jobs), "rendering videos") if progress else results)
        else:
            it = progress(jobs, len(jobs), "rendering videos") if progress else jobs
            results = [_write_job(j) for j in it]
        write_json(tmp / "anomaly_types.json", ANOMALY_TYPES)
        settings = {k: v for k, v in asdict(cfg).items() if k != "workers"}  # bytes must not depend on it
        summary = {"config": settings, "videos": results, "n_frames": sum(r["n_frames"] for r in results)}
        write_json(tmp / "synth.json", summary)
    if out.exists():
        old = out.with_name(out.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out, old)
        os.replace(staging, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, out)
    return summary
