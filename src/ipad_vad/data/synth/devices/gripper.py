"""S05 gripper pick-and-place: the arm reaches the pick station, grips, carries the part to the
right bin, releases, returns. A sorting error drops it in the wrong bin."""

from .base import Device, ease, lerp

PICK, PLACE, WRONG = 0.2, 0.84, 0.62
TOP, LOW = 0.3, 0.58


class Gripper(Device):
    name = "gripper"
    description = "pick-and-place gripper"
    steps = (("reach", 0.2), ("grip", 0.15), ("carry", 0.3), ("release", 0.15), ("return", 0.2))
    anomalies = ("color", "shape", "shift", "pause", "speed", "order", "sorting")
    swappable = ((1, 3),)
    item_kind, item_color = "disc", (220, 80, 60)

    def draw_static(self, c):
        c.rect(0.05, 0.12, 0.95, 0.16, (70, 70, 80))  # rail
        for x in (WRONG, PLACE):
            c.rect(x - 0.08, 0.66, x + 0.08, 0.7, (60, 90, 60) if x == PLACE else (90, 60, 60))  # bins
        c.rect(PICK - 0.08, 0.7, PICK + 0.08, 0.74, (100, 100, 100))  # pick station

    def draw(self, c, s, looks):
        look = looks[s.cycle]
        dest = WRONG if look.sort_wrong else PLACE
        if s.step == 0:
            x, y, closed, held = lerp(dest, PICK, ease(s.u)), TOP, False, False
        elif s.step == 1:
            x, y, closed, held = PICK, lerp(TOP, LOW, 1 - abs(2 * s.u - 1)), s.u > 0.5, s.u > 0.5
        elif s.step == 2:
            x, y, closed, held = lerp(PICK, dest, ease(s.u)), TOP, True, True
        elif s.step == 3:
            x, y, closed, held = dest, lerp(TOP, LOW, 1 - abs(2 * s.u - 1)), s.u < 0.5, s.u < 0.5
        else:
            x, y, closed, held = dest, TOP, False, False
        if s.step in (0, 1) and not held:
            self.workpiece(c, look, PICK, 0.64, 0.06)  # waiting at the pick station
        if s.step in (3, 4) and not held:
            self.workpiece(c, look, dest, 0.6, 0.06)  # dropped in the bin
        c.rect(x - 0.015, 0.16, x + 0.015, y, (150, 150, 160))  # arm
        gap = 0.04 if closed else 0.08
        c.rect(x - gap - 0.015, y, x - gap + 0.005, y + 0.08, (60, 60, 70))
        c.rect(x + gap - 0.005, y, x + gap + 0.015, y + 0.08, (60, 60, 70))
        if held:
            self.workpiece(c, look, x, y + 0.06, 0.05)
