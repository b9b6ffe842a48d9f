"""Captions of what every frame of a generated video shows, region by region (issue 15, seed 003 §3.2).

Seed 003 trains its Image-Text Alignment Module on sentences CLIP picks for each image region ("A man
is lying", "A man in pink"). CLIP cannot be downloaded here, but the generator knows what it drew:
the video is rendered again without nuisance on a ``RecordingCanvas`` that notes each polygon drawn
per frame (its box after the shift/tilt transform, its colour, whether it was drawn inside a
transform - the workpiece - or not - a moving part of the machine), and the timeline says which step
of the cycle the machine is in and how far. Each drawn polygon gets two sentences, the paper's two
kinds (its Branch 1 action, Branch 2 appearance):

* action: ``"<device description> <step name> <start|middle|end>"`` (e.g. "pick-and-place gripper carry middle");
* appearance: ``"<colour word> <shape kind | part>"`` (e.g. "red disc", "grey part").

Deterministic (a pure function of the settings, like the frames); writing no file and changing no
pixel (``render_video``'s hooks are read-only), so generated data and its DVC hashes stay the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .canvas import Canvas
from .devices import DEVICES
from .render import VideoPlan, render_video
from .scenes import SCENES

COLOURS = {
    "red": (210, 60, 50),
    "orange": (225, 140, 40),
    "yellow": (225, 210, 60),
    "green": (60, 170, 70),
    "blue": (50, 90, 200),
    "purple": (140, 70, 170),
    "brown": (120, 80, 50),
    "black": (30, 30, 30),
    "grey": (130, 130, 135),
    "white": (235, 235, 235),
}
_NAMES, _RGB = list(COLOURS), np.array(list(COLOURS.values()), np.float64)


def colour_word(rgb) -> str:
    """The nearest named colour of an RGB triple."""
    return _NAMES[int(((_RGB - np.asarray(rgb, np.float64)) ** 2).sum(1).argmin())]


def phase_word(u: float) -> str:
    return "start" if u < 1 / 3 else "middle" if u < 2 / 3 else "end"


class RecordingCanvas(Canvas):
    """A canvas that also lists every polygon drawn: (box x0, y0, x1, y1 normalised, colour, in a transform)."""

    def __init__(self, background: np.ndarray):
        super().__init__(background)
        self.drawn: list[tuple[tuple[float, float, float, float], tuple[int, int, int], bool]] = []

    def poly(self, pts, color) -> None:
        p = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        p = (self._m[:2, :2] @ p.T).T + self._m[:2, 2]
        box = (float(p[:, 0].min()), float(p[:, 1].min()), float(p[:, 0].max()), float(p[:, 1].max()))
        self.drawn.append((box, tuple(int(c) for c in color), not np.allclose(self._m, np.eye(3))))
        super().poly(pts, color)


@dataclass(frozen=True)
class RegionCaption:
    box: tuple[float, float, float, float]  # normalised x0, y0, x1, y1
    action: str
    appearance: str


def captions_for(scene: str, video: int, cfg) -> list[list[RegionCaption]]:
    """Per frame of training video `video` (1-based) of `scene` generated with `cfg` (a SynthConfig):
    the caption of every polygon the device drew in it (training videos are planned as the generator
    plans them: normal, ``cfg.train_cycles`` cycles)."""
    return [list(f) for f in _captions(scene, int(video), cfg)]


@lru_cache(maxsize=64)
def _captions(scene: str, video: int, cfg) -> tuple[tuple[RegionCaption, ...], ...]:
    device = DEVICES[SCENES[scene].device]()
    plan = VideoPlan(scene, "training", video, cfg.train_cycles, {}, "normal")
    frames: list[tuple[RegionCaption, ...]] = []

    def note(f, state, canvas, looks):
        look = looks[state.cycle]
        action = f"{device.description} {device.steps[state.step][0]} {phase_word(state.u)}"
        frames.append(
            tuple(
                RegionCaption(box, action, f"{colour_word(col)} {look.kind if moved else 'part'}")
                for box, col, moved in canvas.drawn
            )
        )

    render_video(plan, cfg.render, cfg.seed, nuisance=False, canvas_cls=RecordingCanvas, on_frame=note)
    return tuple(frames)
