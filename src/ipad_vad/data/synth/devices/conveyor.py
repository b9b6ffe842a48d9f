"""S01 conveyor: equidistant items ride a belt; one cycle = the belt advances one item pitch."""

from .base import Device

PITCH = 0.32


class Conveyor(Device):
    name = "conveyor"
    description = "conveyor belt with equidistant items"
    steps = (("advance", 1.0),)
    anomalies = ("color", "shape", "shift", "tilt", "pause", "speed", "missing_part")
    item_kind, item_color = "box", (205, 130, 45)

    def draw_static(self, c):
        c.rect(0.0, 0.62, 1.0, 0.72, (55, 55, 60))  # belt
        for x in (0.04, 0.96):
            c.circle(x, 0.67, 0.05, (120, 120, 125))
        c.rect(0.1, 0.72, 0.14, self.floor_y + 0.05, (70, 70, 75))
        c.rect(0.86, 0.72, 0.9, self.floor_y + 0.05, (70, 70, 75))

    def draw(self, c, s, looks):
        t = s.cycle + s.u  # belt travel in pitches
        off = (t * PITCH) % (PITCH / 3)
        for k in range(12):  # belt cleats move with the belt
            x = off + k * PITCH / 3
            c.rect(x - 0.01, 0.63, x + 0.01, 0.71, (80, 80, 88))
        first = int(t) - 4
        for k in range(first, int(t) + 2):
            x = -0.12 + (t - k) * PITCH
            if -0.15 < x < 1.15:
                self.workpiece(c, looks[k], x, 0.53, 0.08)
