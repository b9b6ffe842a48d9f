"""``synth:``: the embedded IPAD-like generator (DESIGN §4; data/synth/generator.SynthConfig is this
section as the generator uses it)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ._base import Float, JpegQuality, NonNegFloat, Pos, PosFloat, Section, Share, Size


class Nuisance(Section):  # normal conditions that must not be flagged (data/synth/nuisance.py)
    light_drift: NonNegFloat = 0.12  # amplitude of the slow brightness drift (fraction)
    flicker: NonNegFloat = 0.03  # std of frame-to-frame brightness flicker
    spot: NonNegFloat = 0.15  # peak brightness added by the light spot (fraction of 255)
    jitter: NonNegFloat = 0.012  # camera jitter std in frame widths


class DomainShift(Section):  # the real-domain scenes only
    cast: Annotated[list[Annotated[Float, Field(gt=0)]], Field(min_length=3, max_length=3)] = [
        1.12,
        0.97,
        0.82,
    ]  # RGB gains
    blur: NonNegFloat = 0.012  # Gaussian sigma in frame widths
    noise: NonNegFloat = 5.0  # sensor noise std (grey levels)
    perspective: NonNegFloat = 0.04  # corner displacement in frame widths
    texture: NonNegFloat = 0.22  # texture contrast on the scenery


Range = Annotated[list[NonNegFloat], Field(min_length=2, max_length=2)]  # (low, high), drawn uniformly


class Shift(Section):
    """Long normal footage of a device: how long, and how often each everyday event of a real line happens
    (rates per nominal hour; data/synth/shift.py). The calibration footage is made with it (its ``hours``:
    ``calibration_minutes``), as are the shifts of ``benchmarks/bench_alerts.py`` (its ``--shift KEY=VALUE``
    sets any of these)."""

    hours: PosFloat = 8.0  # nominal hours of footage
    chunk_frames: Pos = 512  # frames per chunk the iterator yields (memory, not content)
    light_switches_per_hour: NonNegFloat = 0.5
    light_switch_step: Range = [0.06, 0.12]  # |step| of the illumination gain (fraction)
    walkers_per_hour: NonNegFloat = 2.0
    walker_seconds: Range = [3.0, 6.0]  # time to cross the frame
    walker_height: Share = 0.45  # figure height, fraction of the frame height
    stops_per_hour: NonNegFloat = 0.25
    stop_minutes: Range = [2.0, 6.0]
    drift_amplitude: NonNegFloat = 0.06  # slow light drift over the shift (fraction of the gain)
    drift_hours: PosFloat = 6.0  # period of that drift
    slow_stretches_per_hour: NonNegFloat = 0.5
    slow_minutes: Range = [5.0, 15.0]
    slow_factor: Range = [1.02, 1.05]  # cycle length x this: within tolerance (<= 5 %)
    nudges_per_hour: NonNegFloat = 0.25
    nudge_pixels: NonNegFloat = 1.0  # at 64x64; scaled with the frame width
    jitter_frames: PosFloat = 20.0  # correlation time of the camera jitter (frames)
    anomalies_per_hour: NonNegFloat = 0.0  # injected anomalies (0: a normal shift)
    anomaly_types: list[str] = []  # [] = every type the device supports


class Synth(Section):
    seed: int = 0
    scenes: list[str] | None = None  # None: every scene the generator knows (data/synth/scenes.py)
    size: Size = [64, 64]
    fps: PosFloat = 3.0  # frames per nominal second
    cycle_jitter: Share = 0.03  # cycle-to-cycle variation of the cycle length (std, fraction)
    train_videos: Pos = 2
    train_cycles: Pos = 8
    test_videos: Pos = 4
    test_cycles: Pos = 4  # cycles of the all-normal and all-abnormal test videos
    jpeg_quality: JpegQuality = 92
    real_jpeg_quality: JpegQuality = 55  # real-domain scenes: compression artefacts are part of the shift
    write_mp4: bool = False
    # issue 26: long normal footage per device, a shift's everyday events and no anomaly (data/synth/shift.py),
    # as <scene>/calibration/frames/01: the alert threshold is set on it (jobs/calibrate.py), never trained on
    calibration_minutes: NonNegFloat = 0.0  # nominal minutes of it (0: none)
    calibration_scenes: list[str] = []  # the scenes that get it, of those generated
    shift: Shift = Shift()  # its everyday events (and those of bench_alerts.py's shifts)
    workers: Pos = 2
    nuisance: Nuisance = Nuisance()
    domain_shift: DomainShift = DomainShift()
