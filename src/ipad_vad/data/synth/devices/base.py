"""What every device module provides. Adding a machine is adding one file with a Device subclass
and registering it in ``devices/__init__.py``."""

from __future__ import annotations

import numpy as np

from ..anomalies import Look, LookBook
from ..canvas import Canvas
from ..shapes import KINDS, draw_item
from ..timeline import State


def ease(u: float) -> float:
    """Smooth start and stop of a motion (smoothstep)."""
    u = min(max(u, 0.0), 1.0)
    return u * u * (3 - 2 * u)


def lerp(a: float, b: float, u: float) -> float:
    return a + (b - a) * u


class Device:
    name = "device"
    description = ""
    steps: tuple[tuple[str, float], ...] = (("run", 1.0),)
    anomalies: tuple[str, ...] = ()
    swappable: tuple[tuple[int, int], ...] = ()  # step pairs an `order` anomaly may swap
    skippable: tuple[int, ...] = ()  # steps a `missing_step` anomaly may skip
    item_kind = "box"
    item_color = (200, 120, 40)
    wall = (150, 155, 160)
    floor = (95, 90, 85)
    floor_y = 0.78

    # -- scenery -----------------------------------------------------------------------------
    def background(self, h: int, w: int) -> np.ndarray:
        img = np.empty((h, w, 3), np.uint8)
        fy = int(round(self.floor_y * h))
        ramp = np.linspace(1.08, 0.92, h)[:, None, None]  # a little vertical shading
        img[:fy] = np.clip(np.array(self.wall) * ramp[:fy], 0, 255)
        img[fy:] = np.clip(np.array(self.floor) * ramp[fy:], 0, 255)
        c = Canvas(img)
        self.draw_static(c)
        return c.img

    def draw_static(self, c: Canvas) -> None:
        """Parts that never move (frames, rails, bins): drawn once into the background."""

    # -- per frame ---------------------------------------------------------------------------
    def draw(self, c: Canvas, s: State, looks: LookBook) -> None:
        raise NotImplementedError

    # -- looks -------------------------------------------------------------------------------
    def normal_look(self, rng: np.random.Generator) -> Look:
        col = tuple(int(np.clip(v + rng.normal(0, 6), 0, 255)) for v in self.item_color)
        return Look(
            color=col,
            kind=self.item_kind,
            dx=float(rng.normal(0, 0.008)),
            dy=float(rng.normal(0, 0.008)),
            angle=float(rng.normal(0, 1.5)),
        )

    def anomalous_look(self, base: Look, kind: str, rng: np.random.Generator) -> Look:
        if kind == "color":
            r, g, b = self.item_color
            return base.with_anomaly(
                kind,
                color=(int(255 - r * 0.6), int(255 - g * 0.3), int(b * 0.4 + 130))
                if (r, g) != (255, 255)
                else (40, 200, 60),
            )
        if kind == "shape":
            return base.with_anomaly(
                kind, kind=KINDS[(KINDS.index(self.item_kind) + 1 + int(rng.integers(0, 3))) % len(KINDS)]
            )
        if kind == "shift":
            return base.with_anomaly(kind, dx=float(rng.choice([-1, 1]) * rng.uniform(0.09, 0.13)))
        if kind == "tilt":
            return base.with_anomaly(kind, angle=float(rng.choice([-1, 1]) * rng.uniform(22, 32)))
        if kind == "sorting":
            return base.with_anomaly(kind, sort_wrong=True)
        if kind == "missing_part":
            return base.with_anomaly(kind, missing=True)
        raise ValueError(f"{self.name}: not a look anomaly: {kind}")

    def workpiece(self, c: Canvas, look: Look, cx: float, cy: float, size: float) -> None:
        """Draw the cycle's workpiece with its look's shift and tilt (about its own centre)."""
        if look.missing:
            return
        with c.transform(look.dx, look.dy, look.angle, center=(cx, cy)):
            draw_item(c, look.kind, cx, cy, size, look.color)
