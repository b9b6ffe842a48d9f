"""S08 rotary indexer: a turntable with four nests rotates 90 degrees, then a stamp acts on the
part under it. Each nest holds the part loaded in an earlier cycle."""

import math

from .base import Device, ease, lerp

CX, CY, R = 0.5, 0.5, 0.27


class RotaryIndexer(Device):
    name = "rotary_indexer"
    description = "rotary indexing table"
    steps = (("index", 0.4), ("stamp", 0.35), ("dwell", 0.25))
    anomalies = ("color", "shape", "tilt", "pause", "speed", "missing_part")
    item_kind, item_color = "triangle", (60, 170, 170)

    def draw_static(self, c):
        c.circle(CX, CY, R + 0.1, (100, 100, 108))

    def draw(self, c, s, looks):
        turn = s.cycle + (ease(s.u) if s.step == 0 else 1.0)
        c.circle(CX, CY, R + 0.07, (140, 140, 150))
        for j in range(4):
            a = (turn - j) * math.pi / 2
            x, y = CX + R * math.cos(a), CY + R * math.sin(a)
            c.circle(x, y, 0.075, (90, 90, 98))  # nest
            self.workpiece(c, looks[s.cycle - j], x, y, 0.055)
        depth = (1 - abs(2 * s.u - 1)) if s.step == 1 else 0.0
        c.rect(CX + R - 0.04, 0.02, CX + R + 0.04, lerp(0.2, 0.44, depth), (70, 60, 90))  # stamp
