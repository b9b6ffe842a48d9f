"""Workpieces: the objects a machine handles, drawn by kind. A shape anomaly swaps the kind."""

from __future__ import annotations

import math

from .canvas import Canvas

KINDS = ("box", "disc", "triangle", "hexagon", "cross")


def draw_item(c: Canvas, kind: str, cx: float, cy: float, size: float, color) -> None:
    """Draw a workpiece of `kind` centred at (cx, cy) with half-size `size`."""
    s = size
    if kind == "box":
        c.rect(cx - s, cy - s, cx + s, cy + s, color)
        c.rect(cx - s, cy - s, cx + s, cy - s * 0.6, _shade(color, 0.75))  # lid edge: gives texture
    elif kind == "disc":
        c.circle(cx, cy, s, color)
    elif kind == "triangle":
        c.poly([(cx, cy - s), (cx + s, cy + s), (cx - s, cy + s)], color)
    elif kind == "hexagon":
        c.poly([(cx + s * math.cos(a), cy + s * math.sin(a)) for a in (k * math.pi / 3 for k in range(6))], color)
    elif kind == "cross":
        w = s * 0.4
        c.rect(cx - s, cy - w, cx + s, cy + w, color)
        c.rect(cx - w, cy - s, cx + w, cy + s, color)
    else:
        raise ValueError(f"unknown workpiece kind {kind!r}")


def _shade(color, f: float):
    return tuple(int(min(255, max(0, v * f))) for v in color)
