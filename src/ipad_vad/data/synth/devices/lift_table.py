"""S02 lift table: a box slides onto the platform, the scissor lift raises it, a pusher clears it
at the top, the platform lowers."""

from .base import Device, ease, lerp

DOWN, UP = 0.70, 0.36


class LiftTable(Device):
    name = "lift_table"
    description = "scissor lift table"
    steps = (("load", 0.25), ("raise", 0.25), ("push_off", 0.2), ("lower", 0.3))
    anomalies = ("color", "shape", "shift", "tilt", "pause", "speed", "order", "missing_step")
    swappable = ((1, 3),)
    skippable = (1,)
    item_kind, item_color = "box", (60, 110, 200)

    def draw_static(self, c):
        c.rect(0.3, 0.74, 0.7, self.floor_y, (70, 75, 80))  # base
        c.rect(0.72, UP - 0.02, 1.0, UP + 0.02, (110, 100, 90))  # upper shelf

    def draw(self, c, s, looks):
        y = {0: DOWN, 1: lerp(DOWN, UP, ease(s.u)), 2: UP, 3: lerp(UP, DOWN, ease(s.u))}[s.step]
        for a, b in (((0.33, y + 0.03), (0.67, 0.74)), ((0.67, y + 0.03), (0.33, 0.74))):
            c.line(a, b, (90, 90, 95), 0.025)
        c.rect(0.28, y, 0.72, y + 0.04, (160, 160, 165))  # platform
        look = looks[s.cycle]
        if s.step == 0:
            self.workpiece(c, look, lerp(-0.1, 0.5, ease(s.u)), y - 0.09, 0.09)
        elif s.step == 1:
            self.workpiece(c, look, 0.5, y - 0.09, 0.09)
        elif s.step == 2:
            self.workpiece(c, look, lerp(0.5, 1.15, ease(s.u)), y - 0.09, 0.09)
            c.rect(0.2, y - 0.16, lerp(0.3, 0.45, 1 - abs(2 * s.u - 1)), y - 0.1, (90, 90, 90))  # pusher
