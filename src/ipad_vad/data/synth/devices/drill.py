"""S04 drilling machine: a part is indexed under the spindle, the drill descends, spins, rises."""

from .base import Device, ease, lerp


class Drill(Device):
    name = "drill"
    description = "vertical drilling machine"
    steps = (("index_in", 0.2), ("descend", 0.2), ("drill", 0.25), ("ascend", 0.15), ("index_out", 0.2))
    anomalies = ("color", "shape", "shift", "tilt", "pause", "speed", "missing_step")
    skippable = (2,)
    item_kind, item_color = "hexagon", (150, 90, 170)

    def draw_static(self, c):
        c.rect(0.15, 0.05, 0.22, self.floor_y, (80, 85, 90))  # column
        c.rect(0.15, 0.05, 0.62, 0.13, (80, 85, 90))  # arm
        c.rect(0.25, 0.7, 0.85, 0.74, (110, 110, 115))  # table

    def draw(self, c, s, looks):
        look = looks[s.cycle]
        x = {0: lerp(-0.1, 0.55, ease(s.u)), 4: lerp(0.55, 1.15, ease(s.u))}.get(s.step, 0.55)
        self.workpiece(c, look, x, 0.62, 0.08)
        depth = {1: ease(s.u), 2: 1.0, 3: 1 - ease(s.u)}.get(s.step, 0.0)
        tip = lerp(0.4, 0.55, depth)
        with c.transform(0, 0, look.angle if look.anomaly == "tilt" else 0.0, center=(0.55, 0.13)):
            c.rect(0.51, 0.13, 0.59, lerp(0.25, 0.4, depth), (60, 60, 70))  # spindle
            c.rect(0.54, lerp(0.25, 0.4, depth), 0.56, tip, (210, 210, 220))  # bit
            if s.step == 2:  # spinning flutes
                for k in range(3):
                    yy = lerp(0.42, 0.54, ((k / 3 + s.u * 6) % 1.0))
                    c.rect(0.535, yy, 0.565, yy + 0.012, (120, 120, 130))
