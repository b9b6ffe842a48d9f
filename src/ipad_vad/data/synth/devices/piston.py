"""S11 piston: a block drops onto the table, the piston rod extends and pushes it off, retracts."""

from .base import Device, ease, lerp


class Piston(Device):
    name = "piston"
    description = "pneumatic piston pusher"
    steps = (("drop", 0.25), ("extend", 0.3), ("retract", 0.25), ("idle", 0.2))
    anomalies = ("color", "shape", "tilt", "pause", "speed", "order")
    swappable = ((1, 2),)
    item_kind, item_color = "box", (100, 190, 90)

    def draw_static(self, c):
        c.rect(0.02, 0.52, 0.22, 0.68, (90, 90, 100))  # cylinder
        c.rect(0.0, 0.68, 1.0, 0.72, (110, 105, 100))  # table

    def draw(self, c, s, looks):
        look = looks[s.cycle]
        ext = {1: ease(s.u), 2: 1 - ease(s.u)}.get(s.step, 0.0)
        rod = lerp(0.22, 0.62, ext)
        c.rect(0.22, 0.58, rod, 0.62, (200, 200, 210))
        c.rect(rod, 0.53, rod + 0.04, 0.67, (70, 70, 80))  # head
        if s.step == 0:
            self.workpiece(c, look, 0.36, lerp(0.1, 0.6, ease(s.u)), 0.07)
        elif s.step == 1:
            self.workpiece(c, look, max(0.36, rod + 0.11), 0.6, 0.07)
