"""S07 forklift: drives to the pallet, lifts it, carries it across, lowers it, backs away.
A missing `lift` step is the forklift that fails to lift its load."""

from .base import Device, ease, lerp

LEFT, RIGHT = 0.22, 0.72
GROUND, RAISED = 0.72, 0.55


class Forklift(Device):
    name = "forklift"
    description = "forklift moving pallets"
    steps = (("approach", 0.2), ("lift", 0.15), ("carry", 0.3), ("lower", 0.15), ("back_off", 0.2))
    anomalies = ("color", "shape", "pause", "speed", "order", "missing_step")
    swappable = ((1, 3),)
    skippable = (1,)
    item_kind, item_color = "box", (160, 110, 60)

    def draw(self, c, s, looks):
        look = looks[s.cycle]
        x, fork, carrying = {
            0: (lerp(1.0, LEFT + 0.14, ease(s.u)), GROUND, False),
            1: (LEFT + 0.14, lerp(GROUND, RAISED, ease(s.u)), True),
            2: (lerp(LEFT + 0.14, RIGHT + 0.14, ease(s.u)), RAISED, True),
            3: (RIGHT + 0.14, lerp(RAISED, GROUND, ease(s.u)), True),
            4: (lerp(RIGHT + 0.14, 1.0, ease(s.u)), GROUND, False),
        }[s.step]
        if s.step == 0:
            self.workpiece(c, look, LEFT, GROUND - 0.07, 0.07)
        elif s.step == 4:
            self.workpiece(c, look, RIGHT, GROUND - 0.07, 0.07)
        body = x + 0.05
        c.rect(body, 0.55, body + 0.2, 0.74, (230, 190, 30))  # body
        c.rect(body + 0.04, 0.4, body + 0.16, 0.55, (40, 40, 45))  # cab
        c.circle(body + 0.05, 0.75, 0.035, (20, 20, 20))
        c.circle(body + 0.16, 0.75, 0.035, (20, 20, 20))
        c.rect(body - 0.015, 0.35, body, 0.76, (70, 70, 70))  # mast
        c.rect(x - 0.12, fork, body, fork + 0.015, (50, 50, 50))  # forks
        if carrying:
            self.workpiece(c, look, x - 0.06, fork - 0.07, 0.07)
