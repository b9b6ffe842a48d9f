"""S06 crane: the trolley lowers the hook onto a load, hoists, traverses, sets the load down,
hoists the empty hook, traverses back."""

from .base import Device, ease, lerp

A, B = 0.2, 0.8
HIGH, LOW = 0.3, 0.6


class Crane(Device):
    name = "crane"
    description = "overhead gantry crane"
    steps = (
        ("lower", 0.15),
        ("hoist", 0.15),
        ("traverse", 0.25),
        ("set_down", 0.15),
        ("hoist_empty", 0.1),
        ("return", 0.2),
    )
    anomalies = ("color", "shift", "tilt", "pause", "speed", "order", "missing_step")
    swappable = ((1, 4),)
    skippable = (3,)
    item_kind, item_color = "box", (210, 170, 40)

    def draw_static(self, c):
        c.rect(0.02, 0.08, 0.98, 0.12, (90, 70, 60))  # gantry beam
        c.rect(0.02, 0.08, 0.06, self.floor_y, (90, 70, 60))
        c.rect(0.94, 0.08, 0.98, self.floor_y, (90, 70, 60))

    def draw(self, c, s, looks):
        look = looks[s.cycle]
        dest = B + (look.dx if look.anomaly == "shift" else 0.0)  # shift: set down in the wrong place
        x, y, loaded = {
            0: (A, lerp(HIGH, LOW, ease(s.u)), False),
            1: (A, lerp(LOW, HIGH, ease(s.u)), True),
            2: (lerp(A, dest, ease(s.u)), HIGH, True),
            3: (dest, lerp(HIGH, LOW, ease(s.u)), True),
            4: (dest, lerp(LOW, HIGH, ease(s.u)), False),
            5: (lerp(dest, A, ease(s.u)), HIGH, False),
        }[s.step]
        c.rect(x - 0.05, 0.12, x + 0.05, 0.16, (60, 60, 65))  # trolley
        c.line((x, 0.16), (x, y), (30, 30, 30), 0.012)  # rope
        c.rect(x - 0.025, y, x + 0.025, y + 0.02, (40, 40, 40))  # hook
        plain = look.with_anomaly(look.anomaly, dx=0.0) if look.anomaly == "shift" else look
        if loaded:
            self.workpiece(c, plain, x, y + 0.1, 0.08)
        elif s.step == 0:
            self.workpiece(c, plain, A, LOW + 0.1, 0.08)  # waiting load
        elif s.step in (4, 5):
            self.workpiece(c, plain, dest, LOW + 0.1, 0.08)  # delivered load
