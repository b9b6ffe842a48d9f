"""A tiny vector canvas in normalised coordinates (x right, y down, both in [0, 1]).

Shapes are polygons rasterised by OpenCV with sub-pixel precision (fixed-point `shift`) and
anti-aliasing, so motion stays smooth at 64x64. A stack of affine transforms (shift, rotation about a
point) applies to everything drawn inside ``with canvas.transform(...)`` — that is how position and
tilt anomalies move or rotate a workpiece without the device code knowing about them.
"""

from __future__ import annotations

import contextlib
import math

import cv2
import numpy as np

_SHIFT = 4  # fixed-point bits for sub-pixel coordinates


class Canvas:
    def __init__(self, background: np.ndarray):
        self.img = background.copy()  # RGB uint8
        self.h, self.w = self.img.shape[:2]
        self._m = np.eye(3)

    @contextlib.contextmanager
    def transform(self, dx: float = 0.0, dy: float = 0.0, angle: float = 0.0, center=(0.5, 0.5)):
        """Translate by (dx, dy) and rotate by `angle` degrees about `center` (normalised units)."""
        a = math.radians(angle)
        cx, cy = center
        rot = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
        to = np.array([[1, 0, cx + dx], [0, 1, cy + dy], [0, 0, 1]])
        back = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]])
        saved = self._m
        self._m = saved @ to @ rot @ back
        try:
            yield self
        finally:
            self._m = saved

    def _px(self, pts) -> np.ndarray:
        p = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        p = (self._m[:2, :2] @ p.T).T + self._m[:2, 2]
        scale = np.array([self.w, self.h]) * (1 << _SHIFT)
        return np.round(p * scale).astype(np.int32)

    def poly(self, pts, color) -> None:
        cv2.fillPoly(self.img, [self._px(pts)], tuple(int(c) for c in color), cv2.LINE_AA, _SHIFT)

    def rect(self, x0: float, y0: float, x1: float, y1: float, color) -> None:
        self.poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], color)

    def circle(self, cx: float, cy: float, r: float, color, n: int = 24) -> None:
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        self.poly(np.stack([cx + r * np.cos(t), cy + r * np.sin(t) * self.w / self.h], 1), color)

    def line(self, p0, p1, color, width: float = 0.02) -> None:
        (x0, y0), (x1, y1) = p0, p1
        length = math.hypot(x1 - x0, y1 - y0) or 1e-9
        nx, ny = -(y1 - y0) / length * width / 2, (x1 - x0) / length * width / 2
        self.poly([(x0 + nx, y0 + ny), (x1 + nx, y1 + ny), (x1 - nx, y1 - ny), (x0 - nx, y0 - ny)], color)
